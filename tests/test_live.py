"""`lstm live` driven headless with Textual's pilot, and its start-up checks."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

pytest.importorskip("textual")

from textual import events
from textual._xterm_parser import XTermParser

from lstmcli import cli_live, inference
from lstmcli.cli import app as cli
from lstmcli.live.app import LiveApp, make_app
from lstmcli.live.gates import GatesPanel
from lstmcli.live.memory import RNN, MemoryPanel
from lstmcli.live.prompt import PathPrompt
from lstmcli.live.suggestions import Suggestions
from lstmcli.predict import Predictor
from lstmcli.session import Session, insertion

runner = CliRunner()


async def settle(pilot, app: LiveApp) -> None:
    """Wait until the suggestions are those of the text before the cursor."""
    for _ in range(500):
        await pilot.pause()
        if app.caught_up:
            return
    raise AssertionError("the model never caught up with the text")


def drive(app: LiveApp, script, size=(100, 30)):
    """Run ``script(pilot)`` against the app, headless, and return what it returns."""

    async def main():
        async with app.run_test(size=size) as pilot:
            await settle(pilot, app)
            return await script(pilot)

    return asyncio.run(main())


async def type_text(pilot, app: LiveApp, text: str) -> None:
    await pilot.press(*("enter" if ch == "\n" else ch for ch in text))
    await settle(pilot, app)


def predict_json(model: Path, text: str, *extra: str) -> list[tuple[str, float]]:
    r = runner.invoke(cli, ["predict", text, "--model", str(model), "--json", *extra])
    assert r.exit_code == 0, r.output
    obj = json.loads(r.output)
    return [
        (c["token"], c["prob"]) for c in obj["completions" if "--complete" in extra else "next"]
    ]


def shown(app: LiveApp) -> list[tuple[str, float]]:
    return [(s.token, s.prob) for s in app.query_one(Suggestions).items]


def assert_same(got, want):
    assert [t for t, _ in got] == [t for t, _ in want]
    np.testing.assert_allclose([q for _, q in got], [q for _, q in want], rtol=1e-5, atol=1e-7)


def test_typing_updates_the_suggestions_to_predicts(en, trained_en):
    app = make_app(en, cursor_blink=False)

    async def script(pilot):
        seen = [shown(app)]
        for text in ("Mari", " ", "likes the "):
            await type_text(pilot, app, text)
            seen.append(shown(app))
        return seen

    start, mari, after_space, after_the = drive(app, script)
    assert_same(after_the, predict_json(trained_en, "Mari likes the ", "-k", "5"))
    assert_same(after_space, predict_json(trained_en, "Mari", "-k", "5"))
    assert len({tuple(x) for x in (start, after_space, after_the)}) == 3
    assert all(t.startswith("Mari") for t, _ in mari)  # inside the word: completions
    assert mari not in (start, after_space)


def test_completions_equal_predict_complete(en, trained_en):
    app = make_app(en, top_k=4, cursor_blink=False)

    async def script(pilot):
        await type_text(pilot, app, "My sister ate the ca")
        return shown(app)

    assert_same(drive(app, script), predict_json(trained_en, "My sister ate the ca", "-k", "4",
                                                 "--complete"))  # fmt: skip


def typer_params(command):
    import typer

    return [p.opts for p in typer.main.get_command(cli).commands[command.__name__].params]


def test_tab_and_the_pick_keys_type_the_words(en):
    app = make_app(en, cursor_blink=False)

    async def script(pilot):
        await type_text(pilot, app, "Mari likes the ca")
        first = app.last.suggestions[0].token
        await pilot.press("tab")
        await settle(pilot, app)
        after_tab = app.editor.text
        third = app.last.suggestions[2]
        await pilot.press("alt+3")
        await settle(pilot, app)
        after_alt = app.editor.text
        fourth = app.last.suggestions[3]
        await pilot.press("¢")  # Alt+4 as most terminals send it, Esc 4
        await settle(pilot, app)
        return first, after_tab, third, after_alt, fourth, app.editor.text

    first, after_tab, third, after_alt, fourth, text = drive(app, script)
    assert first.startswith("ca") and after_tab == f"Mari likes the {first} "
    assert after_alt == typed(en, after_tab, third)
    assert text == typed(en, after_alt, fourth)


def typed(p, before, s):
    delete, insert = insertion(p.tokenizer, before, s)
    return before[: len(before) - delete] + insert


def test_japanese_words_are_typed_without_spaces(ja):
    app = make_app(ja, cursor_blink=False)

    async def script(pilot):
        await type_text(pilot, app, "麻里ちゃんはモン")
        top = app.last.suggestions[0]
        await pilot.press("tab")
        await settle(pilot, app)
        after = app.editor.text
        picked = app.last.suggestions[1]
        await pilot.press("alt+2")
        await settle(pilot, app)
        return top, after, picked, app.editor.text

    top, after, picked, text = drive(app, script)
    assert top.token == "モンブラン" and after == "麻里ちゃんはモンブラン"
    typed = picked.typed if picked.kind == "complete" else ""
    assert text == after[: len(after) - len(typed)] + picked.token


def test_typed_joiners_and_marks_stay_in_the_text(ja):
    """Emoji keyboards type a ZWJ sequence a character at a time: the joiners (format
    characters, which Python calls unprintable) are typed too, as are marks and selectors."""
    app = make_app(ja, cursor_blink=False)
    text = "家族👨\u200d👩\u200d👧と🏳\ufe0f\u200d🌈、か\u3099e\u0301👍🏽 نمی\u200cخواهم"

    async def script(pilot):
        for event in XTermParser().feed(text):  # the key events a terminal's bytes make
            app.post_message(event)
        await settle(pilot, app)
        return app.editor.text

    assert drive(app, script) == text


def test_a_click_takes_that_suggestion(en):
    app = make_app(en, cursor_blink=False)

    async def script(pilot):
        await type_text(pilot, app, "Mari likes the ")
        second = app.last.suggestions[1].token
        await pilot.click(Suggestions, offset=(12, 2))  # border, then row 0, row 1
        await settle(pilot, app)
        return second, app.editor.text

    second, text = drive(app, script)
    assert text == f"Mari likes the {second} "


def test_edits_in_the_middle_leave_the_state_of_a_fresh_run(en):
    """Type, move into the text, insert and delete there, go back to the end: the states
    of every token equal a fresh run of the text to 1e-6, and so do the suggestions."""
    app = make_app(en, text="Mari likes the cake . My sister ate the ", cursor_blink=False)

    def tape_equals_a_run_of(text: str) -> None:
        tape, ids = app.session.tape, en.encode(text).ids
        assert tape.ids.tolist() == ids.tolist()
        ref = inference.run(en.params, en.config, ids)
        for k in range(en.config.num_layers):
            for name, want in ref.layers[k].items():
                np.testing.assert_allclose(tape.layers[k][name], want, rtol=1e-6, atol=1e-6)

    async def script(pilot):
        await pilot.press(*["left"] * 18)  # before "My"
        await settle(pilot, app)
        assert app.before_cursor() == "Mari likes the cake . "
        tape_equals_a_run_of("Mari likes the cake . ")  # the states up to the cursor
        await type_text(pilot, app, "Rena and ")
        app.editor.move_cursor((0, len("Mari likes the cake")))
        await pilot.press(*["backspace"] * 4)
        await type_text(pilot, app, "tea")
        app.editor.move_cursor(app.editor.document.end)
        await settle(pilot, app)
        return app.editor.text, shown(app)

    text, suggestions = drive(app, script)
    assert text == "Mari likes the tea . Rena and My sister ate the "
    tape_equals_a_run_of(text)
    fresh = Session(en, 5).update(text).suggestions
    assert_same(suggestions, [(s.token, s.prob) for s in fresh])


def test_a_long_text_is_read_in_pieces_between_keys(en):
    text = "Mari likes the cake . " * 60  # 360 tokens: several pieces of BUDGET
    app = make_app(en, text=text, cursor_blink=False)

    async def script(pilot):
        return shown(app), len(app.session.tape)

    suggestions, n = drive(app, script)
    assert n == len(en.encode(text).ids)
    fresh = Session(en, 5).update(text).suggestions
    assert_same(suggestions, [(s.token, s.prob) for s in fresh])


def test_panels_toggle_and_the_layer_changes(en):
    app = make_app(en, cursor_blink=False)

    async def script(pilot):
        await type_text(pilot, app, "Mari likes ")
        gates, memory = app.query_one(GatesPanel), app.query_one(MemoryPanel)
        states = [(gates.display, memory.display, gates.data.layer, memory.data.layer)]
        await pilot.press("f2")
        states.append((gates.display, memory.display))
        await pilot.press("f3")
        states.append((gates.display, memory.display))
        await type_text(pilot, app, "the ")
        await pilot.press("f2", "f3")
        await pilot.pause()
        states.append((gates.display, memory.display, gates.data.position, memory.data.position))
        await pilot.press("f4")
        await pilot.pause()
        states.append((gates.data.layer, memory.data.layer))
        return states

    s = drive(app, script)
    assert s[0] == (True, True, 1, 1)  # shown, at the last layer
    assert s[1] == (False, True) and s[2] == (False, False)
    n = len(en.encode("Mari likes the ").ids)
    assert s[3] == (True, True, n - 1, n - 1)  # shown again, at the text typed meanwhile
    assert s[4] == (0, 0)


def test_a_terminal_made_tiny_keeps_the_app_and_the_text(en):
    """Down to 20 × 5 and back, the empty text's placeholder and the panels included."""
    app = make_app(en, cursor_blink=False)

    async def script(pilot):
        for columns, lines in ((20, 5), (30, 100), (300, 5), (20, 20), (300, 100), (100, 30)):
            await pilot.resize_terminal(columns, lines)
            await pilot.pause()
            await type_text(pilot, app, "a")
            await pilot.press("ctrl+z")  # back to the empty text, its placeholder shown
            await settle(pilot, app)
        await type_text(pilot, app, "Mari ")
        return app.is_running, app.editor.text

    assert drive(app, script) == (True, "Mari ")


def test_an_rnn_shows_h_and_says_it_has_no_memory(trained_rnn):
    app = make_app(Predictor.load(trained_rnn), cursor_blink=False)

    async def script(pilot):
        await type_text(pilot, app, "Mari ")
        return app.query_one(GatesPanel).data, str(app.query_one(MemoryPanel).render())

    gates, memory = drive(app, script)
    assert [name for name, _ in gates.rows] == ["h"]
    assert memory == RNN


def test_save_and_open(en, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # short names to type
    out = tmp_path / "saved.txt"
    other = Path("o.txt")
    other.write_text("My sister ate the ", encoding="utf-8")
    app = make_app(en, text="Mari likes the ", out=out, cursor_blink=False)

    async def script(pilot):
        await pilot.press("ctrl+s")
        await pilot.pause()
        saved = out.read_text(encoding="utf-8")
        await pilot.press("ctrl+o")
        await pilot.pause()
        asked = isinstance(app.screen, PathPrompt)
        await pilot.press("tab")  # the main screen's keys do nothing over the prompt
        await pilot.press(*"m.txt", "enter")
        await pilot.pause()
        kept = app.editor.text
        await pilot.press("ctrl+o", *str(other), "enter")
        await settle(pilot, app)
        return saved, asked, kept, app.editor.text, shown(app), app.out

    saved, asked, kept, text, suggestions, now_out = drive(app, script)
    assert saved == "Mari likes the " and asked
    assert kept == "Mari likes the "  # a file that is not there changes nothing
    assert text == "My sister ate the "
    assert_same(suggestions, [(s.token, s.prob) for s in Session(en, 5).update(text).suggestions])
    assert now_out == out  # --out stays where Ctrl+S saves


def test_a_name_too_long_to_open_or_save_is_an_error_not_a_crash(en, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app(en, text="Mari ", cursor_blink=False)
    name = "m" * 300  # over the 255 bytes a file name may have
    notes = []
    monkeypatch.setattr(app, "notify", lambda message, **_: notes.append(message))

    async def script(pilot):
        for key in ("ctrl+o", "ctrl+s"):
            await pilot.press(key)
            await pilot.pause()
            app.screen.query_one("#path").value = name
            await pilot.press("enter")
            await pilot.pause()
        return notes, app.editor.text, app.out, app.is_running

    notes, text, out, running = drive(app, script)
    assert running and text == "Mari " and out is None
    assert "cannot read the file" in notes[0] and "cannot write" in notes[1]


def test_save_asks_for_a_path_without_out(en, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app(en, text="Mari ", cursor_blink=False)

    async def script(pilot):
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press(*"a.txt", "enter")
        await pilot.pause()
        return app.out

    assert drive(app, script) == Path("a.txt")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "Mari "


@pytest.mark.parametrize("key", ["ctrl+q", "escape"])
def test_quit_keys(en, key):
    app = make_app(en, text="Mari ", cursor_blink=False)

    async def script(pilot):
        await pilot.press(key)
        await pilot.pause()
        return app.is_running

    assert drive(app, script) is False  # nothing typed: nothing to lose


def test_quitting_with_text_not_saved_takes_a_second_press(en):
    app = make_app(en, cursor_blink=False)

    async def script(pilot):
        await type_text(pilot, app, "Mari ")
        await pilot.press("escape")
        await pilot.pause()
        after_one = app.is_running
        await pilot.press("ctrl+q")
        await pilot.pause()
        return after_one, app.is_running

    assert drive(app, script) == (True, False)


# ---- before the screen is taken over


def test_not_a_terminal_exits_2_with_a_message(trained_en):
    r = runner.invoke(cli, ["live", "--model", str(trained_en)])
    assert r.exit_code == 2
    assert "lstm live needs a terminal" in r.output


@pytest.fixture
def terminal(monkeypatch):
    """Pretend stdin and stdout are a terminal of the given size; the app never starts."""

    def size(columns=100, lines=30):
        monkeypatch.setattr(
            cli_live, "terminal_size", lambda: __import__("os").terminal_size((columns, lines))
        )

    monkeypatch.setattr(LiveApp, "run", lambda self: pytest.fail("the app started"))
    return size


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "{missing}"], "no such model file"),
        (["--model", "{garbage}"], "garbage.safetensors"),
        (["--model", "{en}", "--layer", "2"], "--layer 2 is out of range: the model has 2 layers"),
        (["{missing}", "--model", "{en}"], "use --out"),
    ],
)
def test_errors_come_before_the_screen(terminal, tmp_path, trained_en, args, message):
    terminal()
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00not a model" * 10)
    paths = {"missing": tmp_path / "missing.txt", "garbage": garbage, "en": trained_en}
    r = runner.invoke(cli, ["live", *(a.format(**paths) for a in args)])
    assert r.exit_code == 1, r.output
    assert r.output.startswith("error: ") and message in r.output
    assert len(r.output.strip().splitlines()) <= 2  # one line (wrapped at most once)


def test_no_model_at_all(terminal, tmp_path, monkeypatch):
    terminal()
    monkeypatch.setenv("LSTM_HOME", str(tmp_path))
    r = runner.invoke(cli, ["live"])
    assert r.exit_code == 1 and "error: " in r.output and "lstm train" in r.output


def test_too_small_a_terminal(terminal, trained_en):
    terminal(50, 12)
    r = runner.invoke(cli, ["live", "--model", str(trained_en)])
    assert r.exit_code == 1
    assert "the terminal is 50×12; lstm live needs at least 60×20" in r.output


def test_an_error_inside_the_app_is_not_a_clean_exit(terminal, trained_en, monkeypatch):
    terminal()
    monkeypatch.setattr(LiveApp, "run", lambda self: self.exit(return_code=1))  # as a crash
    r = runner.invoke(cli, ["live", "--model", str(trained_en)])
    assert r.exit_code == 1


def test_the_other_commands_never_import_textual():
    code = "import sys, lstmcli.cli; assert 'textual' not in sys.modules, 'textual loaded'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_path_prompt_takes_one_answer_of_keys_pressed_together(en, tmp_path, monkeypatch):
    """Enter twice, or Enter and Esc, before the prompt is gone: one answer, no crash."""
    monkeypatch.chdir(tmp_path)
    app = make_app(en, text="Mari ", cursor_blink=False)

    async def script(pilot):
        seen = []
        for keys in (["enter", "enter"], ["enter", "escape"], ["escape", "enter"]):
            await pilot.press("ctrl+s", *"a.txt")
            await pilot.pause()
            for key in keys:  # both queued before either is handled
                app.post_message(events.Key(key, "\r" if key == "enter" else None))
            await pilot.pause()
            await pilot.pause()
            saved = (tmp_path / "a.txt").exists()
            seen.append((isinstance(app.screen, PathPrompt), app.out, saved))
            (tmp_path / "a.txt").unlink(missing_ok=True)
            app.out = None
        return seen, app.is_running

    seen, running = drive(app, script)
    assert running
    assert seen[0] == (False, Path("a.txt"), True)
    assert all(not asked and (out is not None) == saved for asked, out, saved in seen)


def test_memory_panel_of_a_long_text_draws_what_the_whole_split_draws(en):
    """The panel holds the last rows only, with the share of those before: on a text of
    thousands of tokens, typed at and edited, it draws what all the rows would draw."""
    from lstmcli import liveview
    from lstmcli import memory as M

    lines = (Path(__file__).resolve().parents[1] / "corpora" / "tales-en.txt").read_text("utf-8")
    app = make_app(en, text="\n".join(lines.splitlines()[:150]), cursor_blink=False)

    async def script(pilot):
        drawn = []
        for keys in (["M", "a"], ["up", "up", "x"], ["ctrl+end", "space"]):
            await pilot.press(*keys)
            await settle(pilot, app)
            await pilot.pause()
            panel = app.query_one(MemoryPanel)
            got = panel.data
            tape = app.session.tape
            assert len(tape) > 2000 and got.rows[0].position > 0
            s = M.summarise(M.decompose(tape.layers[got.layer], dtype=np.float32))
            tokens = app.last.tokens
            shares, left = s.share.tolist(), s.retained.tolist()
            rows = tuple(
                liveview.MemoryRow(p, tokens[p], shares[p], left[p]) for p in range(len(tape))
            )
            whole = liveview.Memory(got.layer, got.position, got.token, rows, 0.0,
                                    float(s.share.max()))  # fmt: skip
            drawn.append((panel.render().plain, s.share))
            panel.data = whole
            drawn.append((panel.render().plain, s.share))
            panel.data = got
        return drawn

    drawn = drive(app, script, size=(120, 40))
    for (got, share), (whole, _) in zip(drawn[::2], drawn[1::2], strict=True):
        assert got == whole
        lo, held = re.search(r"tokens 0–(\d+) hold (\d+)% of c", got).groups()
        assert int(held) == round(100 * float(share[: int(lo) + 1].sum()))
