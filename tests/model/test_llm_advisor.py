"""LlmAdvisor end to end on tiny models: a briefly trained checkpoint -> critique()/CLI -> Advice; cancel."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from model.audio.segments import Window  # noqa: E402
from model.advice.advisor import AdviceRequest, CancelToken  # noqa: E402
from model.advisors import load_advisor  # noqa: E402
from model.errors import AdvisorUnavailable, Cancelled, CheckpointError, ModelRuntimeError  # noqa: E402
from model.llm.advisor import LlmAdvisor  # noqa: E402
from model.advice.templates import render_response  # noqa: E402

ANSWER = render_response("quiet", "vocals", 0)


def write_song(folder: Path, seconds: float = 10.0, sr: int = 48000) -> Path:
    """Four role-named stems that pass the activity gate (48 kHz, so the advisor resamples)."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sr)) / sr
    gate = (np.sin(2 * np.pi * 2 * t) > -0.5)
    stems = {"vocals": 0.2 * np.sin(2 * np.pi * 440 * t) * gate,
             "drums": 0.2 * rng.standard_normal(len(t)) * (np.sin(2 * np.pi * 4 * t) > 0),
             "bass": 0.25 * np.sin(2 * np.pi * 82 * t),
             "other": 0.1 * np.sin(2 * np.pi * 660 * t) + 0.02 * rng.standard_normal(len(t))}
    for name, x in stems.items():
        sf.write(folder / f"{name}.wav", x.astype(np.float32), sr, subtype="FLOAT")
    return folder


def train_on_answer(model, request, window, answer: str, max_steps: int = 150) -> int:
    """Teach the tiny model one answer for one window until greedy decoding must produce it."""
    advisor = LlmAdvisor(model)
    audio = torch.from_numpy(advisor.window_audio(request, window))[None]
    instruction = advisor.instruction(request, window)
    batch = model.collate([model.prompts.example(instruction, answer, model.n_audio_tokens(audio.shape[1]))], audio)
    states = model.encoder.hidden_states(audio)  # frozen encoder: compute once
    model.encoder.hidden_states = lambda _audio: states
    labels = batch["labels"][0, 1:]
    keep = labels != -100
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    try:
        for step in range(max_steps):
            out = model(**batch)
            opt.zero_grad()
            out.loss.backward()
            opt.step()
            top = out.logits[0, :-1][keep].detach().topk(2, dim=-1)
            # every answer token is the argmax by a clear margin: greedy decoding reproduces the answer
            if bool((top.indices[:, 0] == labels[keep]).all()) and float((top.values[:, 0] - top.values[:, 1]).min()) > 0.2:
                return step + 1
        raise AssertionError("the tiny model did not learn the answer")
    finally:
        del model.encoder.hidden_states


@pytest.fixture(scope="module")
def trained(tiny_model_config, tmp_path_factory):
    from model.llm.checkpoint import save_checkpoint
    from model.llm.multimodal import MixingBuddyModel
    from model.audio.tracks import load_tracks

    root = tmp_path_factory.mktemp("llm-advisor")
    song = write_song(root / "song")
    request = AdviceRequest(load_tracks([song]).tracks, "drums")
    cfg = tiny_model_config.replace(projector_dropout=0.0, lora={"dropout": 0.0}, gradient_checkpointing=False,
                                    max_new_tokens=32)
    torch.manual_seed(0)
    model = MixingBuddyModel.build(cfg, device="cpu", training=True)
    steps = train_on_answer(model, request, Window(0.0, 10.0), ANSWER)
    run = save_checkpoint(model, root / "run", step=steps, training={"note": "test: one fixed answer"})
    return SimpleNamespace(song=song, request=request, run=run)


def test_critique_returns_advice_from_the_llm(trained):
    from model.advice.pipeline import critique

    advisor = load_advisor("llm", trained.run, device="cpu")
    assert advisor.info.kind == "llm" and advisor.info.max_windows == 8 and "CPU" in advisor.info.description
    advice = critique(trained.request, advisor)
    assert advice.advisor_id == advisor.info.id
    assert advice.primary is not None and not advice.abstained
    assert (advice.primary.role, advice.primary.direction, advice.primary.category) == ("vocals", "increase", "quiet")
    assert advice.windows and all(v.text == ANSWER and v.exact for v in advice.windows)


def test_cli_critique_with_llm_advisor(trained, capsys):
    from mixingbuddy_app import cli
    code = cli.main([str(trained.song), "--advisor", "llm", "--checkpoint", str(trained.run), "--device", "cpu",
                     "--anchor", "drums", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = json.loads(captured.out)
    assert out["suggestions"][0]["stem"] == "vocals" and out["suggestions"][0]["direction"] == "increase"


class CancelAfterReads(CancelToken):
    """Cancels itself on the n-th read of ``cancelled`` (only the generation stopping criterion reads it)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n, self.reads = n, 0

    @property
    def cancelled(self) -> bool:
        self.reads += 1
        if self.reads >= self.n:
            self.cancel()
        return super().cancelled


def test_cancel_stops_a_running_critique(trained):
    from model.advice.pipeline import critique

    advisor = load_advisor("llm", trained.run, device="cpu")
    token = CancelAfterReads(3)
    with pytest.raises(Cancelled):
        critique(trained.request, advisor, cancel=token)
    assert token.reads <= 4  # stopped on the 3rd generated token, not after the ~19-token answer


def test_cancel_between_batches(trained, monkeypatch):
    advisor = load_advisor("llm", trained.run, device="cpu", batch_size=1, max_new_tokens=2)
    request = AdviceRequest(trained.request.tracks, "drums", window_s=5.0)
    token = CancelToken()
    calls = []
    real = advisor.model.generate

    def generate_then_cancel(*args, **kwargs):
        calls.append(1)
        out = real(*args, **kwargs)
        token.cancel()
        return out

    monkeypatch.setattr(advisor.model, "generate", generate_then_cancel)
    with pytest.raises(Cancelled):
        advisor.judge(request, [Window(0.0, 5.0), Window(5.0, 10.0)], token)
    assert len(calls) == 1


def test_clear_errors(trained, tmp_path, tiny_model, monkeypatch):
    with pytest.raises(CheckpointError, match="not found"):
        load_advisor("llm", tmp_path / "nothing", device="cpu")
    with pytest.raises(AdvisorUnavailable, match="Unknown LLM advisor option"):
        load_advisor("llm", trained.run, device="cpu", temperature=0.7)
    if not torch.cuda.is_available():
        with pytest.raises(AdvisorUnavailable, match="no CUDA device"):
            load_advisor("llm", trained.run, device="cuda")
    advisor = LlmAdvisor(tiny_model)

    def oom(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(tiny_model, "generate", oom)
    with pytest.raises(ModelRuntimeError, match="nf4.*shorter selection"):
        advisor.judge(trained.request, [Window(0.0, 1.0)])


def _tamper_missing(run: Path) -> None:
    (run / "projector.safetensors").unlink()


def _tamper_hash(run: Path) -> None:
    data = bytearray((run / "projector.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (run / "projector.safetensors").write_bytes(bytes(data))


def _tamper_shapes(run: Path) -> None:
    from safetensors.torch import load_file, save_file

    from model.llm.checkpoint import sha256_file

    tensors = load_file(str(run / "projector.safetensors"))
    name = next(k for k, v in tensors.items() if v.ndim == 2)
    tensors[name] = torch.zeros(tensors[name].shape[0] + 1, tensors[name].shape[1])
    save_file(tensors, str(run / "projector.safetensors"), metadata={"format": "pt"})
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["files"]["projector.safetensors"] = sha256_file(run / "projector.safetensors")
    (run / "manifest.json").write_text(json.dumps(manifest))


def _tamper_future(run: Path) -> None:
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["format_version"] = 99
    (run / "manifest.json").write_text(json.dumps(manifest))


def _tamper_garbage_manifest(run: Path) -> None:
    (run / "manifest.json").write_text("{ not json")


@pytest.mark.parametrize("tamper,needle", [
    (_tamper_missing, "projector.safetensors"), (_tamper_hash, "projector.safetensors"),
    (_tamper_shapes, "[65, 32] vs manifest [64, 32]"), (_tamper_future, "format 99 is newer"),
    (_tamper_garbage_manifest, "manifest"),
])
def test_cli_refuses_broken_checkpoints_with_one_line(trained, tmp_path, capsys, tamper, needle):
    """Issue 6: a checkpoint with a missing file, a wrong hash, wrong shapes or a future format -> exit 2."""
    import shutil

    from mixingbuddy_app import cli
    run = tmp_path / "run"
    shutil.copytree(trained.run, run)
    tamper(run)
    code = cli.main([str(trained.song), "--advisor", "llm", "--checkpoint", str(run), "--device", "cpu"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert needle.lower() in err[0].lower() and "Traceback" not in err[0]


def test_cli_llm_critique_leaves_a_full_mix_among_the_files_out(trained, tmp_path, capsys):
    """The model hears what the balance advisor measures: a master track exported with the stems is left out
    (one warning), so the advice is that of the stems alone."""
    import soundfile as sf

    from mixingbuddy_app import cli

    folder = tmp_path / "export"
    folder.mkdir()
    parts = [sf.read(str(f), dtype="float32") for f in sorted(trained.song.glob("*.wav"))]
    for f in trained.song.glob("*.wav"):
        (folder / f.name).symlink_to(f)
    sf.write(str(folder / "Song Master.wav"), sum(x for x, _ in parts), parts[0][1], subtype="FLOAT")
    args = ["--advisor", "llm", "--checkpoint", str(trained.run), "--device", "cpu", "--anchor", "drums", "--json"]
    assert cli.main([str(trained.song), *args]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert cli.main([str(folder), *args]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(w["code"], w["tracks"]) for w in out["warnings"] if w["code"] == "mix_file"] == [
        ("mix_file", ["Song Master.wav"])]
    assert out["suggestions"] == alone["suggestions"] and out["text"] == alone["text"]
