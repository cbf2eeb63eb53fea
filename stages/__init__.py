"""One Hydra-configured script per DVC stage; each is `python -m stages.<name>`."""
