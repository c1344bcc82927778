"""Chat and compare widgets (ipywidgets) that stream from whichever backend ``utils`` resolved.

    chat = ChatWidget()            # a chat box: system prompt, temperature, transcript, Send
    chat                           # show it; type and press Send, or call chat.send("Hi")
    compare("Name a colour.", {"temperature": 0}, {"temperature": 1.2, "seed": 1})
    view = ThinkingView(); view                  # a thinking model's stream: thoughts folded
    view.stream(client.chat.completions.create(**thinking_request(...)))

The logic is in plain methods (``send()``, ``clear()``, ``run()``); the buttons only call
them, so tests drive the widgets without a browser. Every part carries a CSS class
(``cookbook-chat-send``, ``cookbook-chat-transcript``, ...) that browser tests can find.
A button's handler runs in the kernel between cells; text streamed from a handler or from a
running cell reaches the browser as it arrives.
"""

from __future__ import annotations

import html
import json
import time

import ipywidgets as widgets
import openai

from utils.clients import get_client
from utils.conversation import DEFAULT_SYSTEM, Conversation, token_counter_for
from utils.errors import explain
from utils.local_model import MAX_CONTEXT
from utils.settings import Settings, load_settings
from utils.streaming import StreamResult, collect_stream, stream_chat

REDRAW_EVERY = 0.05  # seconds between transcript redraws while a reply streams
_TURN_STYLE = "white-space: pre-wrap; margin: 0.3em 0; padding: 0.3em 0.5em; border-radius: 4px;"
_SPEAKERS = {
    "user": ("You", "background: rgba(0, 120, 215, 0.08);"),
    "assistant": ("Assistant", "background: rgba(0, 0, 0, 0.04);"),
}


def _full_width(**more) -> widgets.Layout:
    """A layout that fills the row: ``width="100%"`` plus the widget's margin would push
    its right border out of the output area, which cuts it off."""
    return widgets.Layout(width="auto", flex="1 1 auto", **more)


def _turn_html(role: str, text: str, streaming: bool = False) -> str:
    speaker, colour = _SPEAKERS[role]
    classes = f"cookbook-chat-turn cookbook-chat-{role}" + (
        " cookbook-chat-streaming" if streaming else ""
    )
    cursor = "▌" if streaming else ""
    return (
        f'<div class="{classes}" style="{_TURN_STYLE} {colour}"><b>{speaker}:</b> '
        f"{html.escape(text)}{cursor}</div>"
    )


class ChatWidget(widgets.VBox):
    """A chat box with a system prompt, temperature, streaming transcript, Send and Clear."""

    def __init__(
        self,
        settings: Settings | None = None,
        client: openai.OpenAI | None = None,
        system: str = DEFAULT_SYSTEM,
        temperature: float = 0.7,
        reply_tokens: int = 200,
        budget: int = MAX_CONTEXT,
    ) -> None:
        self.settings = settings or load_settings()
        self.conversation = Conversation(
            client or get_client(self.settings),
            self.settings.model,
            system=system,
            budget=budget,
            reply_tokens=reply_tokens,
            counter=token_counter_for(self.settings),
        )
        self.busy = False
        self._last_draw = 0.0

        self.system_box = widgets.Textarea(
            value=system, description="System", rows=2, layout=_full_width()
        )
        self.temperature_slider = widgets.FloatSlider(
            value=temperature,
            min=0.0,
            max=1.5,
            step=0.1,
            description="Temperature",
            style={"description_width": "initial"},  # show the whole label
        )
        self.transcript = widgets.HTML(
            layout=_full_width(max_height="420px", overflow="auto", border="1px solid #ccc")
        )
        self.message_box = widgets.Textarea(
            placeholder="Type a message, then press Send", rows=2, layout=_full_width()
        )
        self.send_button = widgets.Button(description="Send", button_style="primary", icon="send")
        self.clear_button = widgets.Button(description="Clear", icon="trash")
        self.status = widgets.HTML()
        for part, name in [
            (self.system_box, "system"),
            (self.temperature_slider, "temperature"),
            (self.transcript, "transcript"),
            (self.message_box, "message"),
            (self.send_button, "send"),
            (self.clear_button, "clear"),
            (self.status, "status"),
        ]:
            part.add_class(f"cookbook-chat-{name}")
        self.send_button.on_click(lambda _button: self.send())
        self.clear_button.on_click(lambda _button: self.clear())

        super().__init__(
            [
                self.system_box,
                self.temperature_slider,
                self.transcript,
                self.message_box,
                widgets.HBox([self.send_button, self.clear_button]),
                self.status,
            ]
        )
        self.add_class("cookbook-chat")
        self._draw()
        self._set_status(f"Ready: {self.settings.model} ({self.settings.provider}).")

    def _set_status(self, text: str) -> None:
        self.status.value = html.escape(text)

    def _draw(self, streaming: str | None = None) -> None:
        """Redraw the transcript from the conversation; ``streaming`` is the reply arriving now.

        Each message is drawn once: the answered turns, then the question in flight
        (``conversation.pending``) with the reply so far.
        """
        chat = self.conversation
        parts = []
        if chat.summarised:
            parts.append(f"<i>({chat.summarised} earlier messages are summarised)</i>")
        elif chat.left_out:
            parts.append(
                f"<i>({chat.left_out} earlier messages no longer fit and are not sent)</i>"
            )
        parts += [_turn_html(m["role"], m["content"]) for m in chat.turns]
        if chat.pending is not None:
            parts.append(_turn_html("user", chat.pending["content"]))
            parts.append(_turn_html("assistant", streaming or "", streaming=True))
        if not parts:
            parts.append("<i>No messages yet.</i>")
        self.transcript.value = "\n".join(parts)

    def _on_text(self, text: str) -> None:
        now = time.perf_counter()
        if not text or now - self._last_draw >= REDRAW_EVERY:  # "": the question was just sent
            self._draw(streaming=text)
            self._last_draw = now

    def send(self, text: str | None = None) -> StreamResult | None:
        """Send ``text`` (default: the message box) and stream the reply into the transcript."""
        text = self.message_box.value if text is None else text
        if self.busy:
            return None
        if not text.strip():
            self._set_status("Type a message first.")
            return None
        self.busy, self.send_button.disabled = True, True
        self.add_class("cookbook-chat-busy")
        self.message_box.value = ""
        self.conversation.system = self.system_box.value.strip() or DEFAULT_SYSTEM
        self._set_status("Streaming…")
        result = None
        try:
            result = self.conversation.stream(
                text, on_text=self._on_text, temperature=self.temperature_slider.value
            )
        except (openai.APIError, ValueError) as error:
            self.message_box.value = text  # give the message back to send again
            self._set_status(f"⚠ {explain(error) or error}")
        else:
            if result.complete:
                self._set_status(f"Done: {result.summary()}")
            else:
                self._set_status(f"⚠ {result.advice}")
                if not result.text:
                    self.message_box.value = text
        finally:
            self.busy, self.send_button.disabled = False, False
            self.remove_class("cookbook-chat-busy")
            self._draw()
        return result

    def clear(self) -> None:
        """Forget the conversation (the system prompt and temperature stay)."""
        self.conversation.clear()
        self._draw()
        self._set_status("Cleared.")

    def __repr__(self) -> str:  # shown where the widget cannot be drawn (unrun, or on GitHub)
        return (
            f"[Chat box for {self.settings.model} ({self.settings.provider}): run this cell "
            "to open it; its buttons need a running kernel.]"
        )


class CompareWidget(widgets.VBox):
    """One prompt answered under two settings, streamed side by side."""

    def __init__(
        self,
        prompt: str,
        left: dict,
        right: dict,
        settings: Settings | None = None,
        client: openai.OpenAI | None = None,
        max_tokens: int = 120,
    ) -> None:
        self.settings = settings or load_settings()
        self.client = client or get_client(self.settings)
        self.max_tokens = max_tokens
        self.prompt_box = widgets.Textarea(
            value=prompt, description="Prompt", rows=2, layout=_full_width()
        )
        self.run_button = widgets.Button(description="Run both", button_style="primary")
        self.status = widgets.HTML()
        self.panes, self.settings_boxes = {}, {}
        columns = []
        for side, options in (("left", left), ("right", right)):
            box = widgets.Textarea(value=json.dumps(options), rows=2, layout=_full_width())
            pane = widgets.HTML(layout=_full_width(min_height="4em", border="1px solid #ccc"))
            box.add_class(f"cookbook-compare-{side}-settings")
            pane.add_class(f"cookbook-compare-{side}")
            self.settings_boxes[side], self.panes[side] = box, pane
            columns.append(widgets.VBox([box, pane], layout=widgets.Layout(width="50%")))
        self.prompt_box.add_class("cookbook-compare-prompt")
        self.run_button.add_class("cookbook-compare-run")
        self.status.add_class("cookbook-compare-status")
        self.run_button.on_click(lambda _button: self.run())
        self.results: dict[str, StreamResult] = {}  # the last run's answers, by side
        super().__init__([self.prompt_box, widgets.HBox(columns), self.run_button, self.status])
        self.add_class("cookbook-compare")

    def options(self, side: str) -> dict:
        """The request options typed in one side's box (JSON); raises ValueError if unusable."""
        try:
            options = json.loads(self.settings_boxes[side].value or "{}")
        except json.JSONDecodeError as error:
            raise ValueError(f"The {side} settings are not valid JSON: {error}.") from None
        if not isinstance(options, dict):
            raise ValueError(
                f'The {side} settings must be a JSON object, like {{"temperature": 0}}.'
            )
        return options

    def _messages(self, options: dict) -> list[dict]:
        system = options.get("system")
        user = {"role": "user", "content": self.prompt_box.value}
        return [{"role": "system", "content": system}, user] if system else [user]

    def _run_side(self, side: str, options: dict) -> StreamResult:
        pane = self.panes[side]
        request = {k: v for k, v in options.items() if k != "system"}
        request.setdefault("max_tokens", self.max_tokens)

        def show(text: str) -> None:
            pane.value = _turn_html("assistant", text, streaming=True)

        result = stream_chat(
            self.client,
            on_text=show,
            model=self.settings.model,
            messages=self._messages(options),
            **request,
        )
        note = result.summary() if result.complete else f"⚠ {result.advice}"
        pane.value = _turn_html("assistant", result.text) + f"<small>{html.escape(note)}</small>"
        return result

    def run(self) -> dict[str, StreamResult] | None:
        """Answer the prompt under the left, then the right settings; results by side."""
        if not self.prompt_box.value.strip():
            self.status.value = "Type a prompt first."
            return None
        try:
            options = {side: self.options(side) for side in ("left", "right")}
        except ValueError as error:
            self.status.value = html.escape(str(error))
            return None
        self.run_button.disabled = True
        results = {}
        try:
            for side in ("left", "right"):
                self.status.value = f"Streaming the {side} answer…"
                results[side] = self._run_side(side, options[side])
        except (openai.APIError, TypeError) as error:  # TypeError: an unknown option name
            self.status.value = html.escape(f"⚠ {explain(error) or error}")
            return None
        finally:
            self.run_button.disabled = False
        self.status.value = "Done."
        self.results = results
        return results

    def __repr__(self) -> str:  # shown where the widget cannot be drawn (unrun, or on GitHub)
        return (
            f"[Side-by-side comparison of {self.prompt_box.value[:40]!r}: run this cell to "
            "open it; the answers are printed below.]"
        )


def compare(
    prompt: str, left: dict, right: dict, settings: Settings | None = None, **options
) -> CompareWidget:
    """Show a ``CompareWidget`` for ``prompt`` and run it (in a notebook, it streams in place)."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import display

    widget = CompareWidget(prompt, left, right, settings=settings, **options)
    if InteractiveShell.initialized():
        display(widget)
    widget.run()
    return widget


class ThinkingView(widgets.VBox):
    """A thinking model's stream: its thoughts in a folded accordion, the answer below, and a
    status line with the time to the first thought and to the first answer token."""

    def __init__(self, title: str = "Thoughts") -> None:
        self.title = title
        self.thoughts = widgets.HTML(layout=_full_width(max_height="300px", overflow="auto"))
        self.fold = widgets.Accordion(children=[self.thoughts], selected_index=None)  # folded
        self.fold.set_title(0, title)
        self.answer = widgets.HTML(layout=_full_width(min_height="2em"))
        self.status = widgets.HTML("Waiting for the first thought…")
        for part, name in [
            (self.fold, "thoughts"),
            (self.answer, "answer"),
            (self.status, "status"),
        ]:
            part.add_class(f"cookbook-thinking-{name}")
        self._last_draw = 0.0
        self.result: StreamResult | None = None
        super().__init__([self.fold, self.answer, self.status])
        self.add_class("cookbook-thinking")

    def _due(self) -> bool:
        now = time.perf_counter()
        if now - self._last_draw >= REDRAW_EVERY:
            self._last_draw = now
            return True
        return False

    def on_thought(self, thoughts: str, force: bool = False) -> None:
        """Show the thoughts so far (folded: the title counts them)."""
        if force or self._due():
            self.thoughts.value = (
                f'<pre style="white-space: pre-wrap; opacity: 0.75">{html.escape(thoughts)}</pre>'
            )
            self.fold.set_title(0, f"{self.title} ({len(thoughts):,} characters, click to open)")
            self.status.value = "Thinking…"

    def on_text(self, text: str, force: bool = False) -> None:
        """Show the answer so far."""
        if force or self._due():
            self.answer.value = _turn_html("assistant", text, streaming=not force)
            self.status.value = "Answering…"

    def stream(self, stream, started: float | None = None) -> StreamResult:
        """Read ``stream`` into the view; ``started``: when the request was sent."""
        result = collect_stream(
            stream, started=started, on_text=self.on_text, on_thought=self.on_thought
        )
        self.on_thought(result.reasoning, force=True)
        self.on_text(result.text, force=True)
        note = result.summary() if result.complete else f"⚠ {result.advice}"
        self.status.value = html.escape(note)
        self.result = result
        return result

    def __repr__(self) -> str:  # shown where the widget cannot be drawn (unrun, or on GitHub)
        if self.result is None:
            return "[A thinking model's stream: run this cell to see it.]"
        return (
            f"[Thoughts folded: {len(self.result.reasoning):,} characters]\n{self.result.text}\n"
            f"— {self.result.summary()}"
        )
