# ruff: noqa: E501  (BPMN elements read best one to a line)
"""A pathway with an event subprocess started by a message or a signal (shared by unit and
integration tests)."""

from __future__ import annotations

from tests.bpmn_text import CLOSE, flows, handling_event_subprocess

_DEFINITIONS = {
    "message": ('<bpmn:message id="news" name="news" />',
                '<bpmn:messageEventDefinition messageRef="news"/>'),
    "signal": ('<bpmn:signal id="news" name="news" />',
               '<bpmn:signalEventDefinition signalRef="news"/>'),
}


def triggered_by(kind: str, *, interrupting: bool | None = True) -> dict[str, str]:
    """The process `on_news`: a parallel split into the user task `check` (then the script task `note` sets
    `noted`), the timer
    `wait_a_day` (one day, then the user task `follow_up`) and the message catch `reply`
    (message "reply"), beside the event subprocess `on_news` whose start event `news_start`
    catches the message or signal "news" and leads to the user task `handle`.

    interrupting: True / False writes isInterrupting="true" / "false"; None leaves the
    attribute out (BPMN's default: interrupting)."""
    declaration, catch = _DEFINITIONS[kind]
    flag = "" if interrupting is None else f' isInterrupting="{str(interrupting).lower()}"'
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="on_news_defs" targetNamespace="https://pathways.example/tests">
  {declaration}
  <bpmn:message id="reply" name="reply" />
  <bpmn:process id="on_news" name="Reacts to news" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="split"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f4</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="check" name="Check"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="note" name="Note"><bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f9</bpmn:outgoing><bpmn:script>noted = "after the check"</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="checked"><bpmn:incoming>f9</bpmn:incoming></bpmn:endEvent>
    <bpmn:intermediateCatchEvent id="wait_a_day" name="A day"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing><bpmn:timerEventDefinition><bpmn:timeDuration>"P1D"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:userTask id="follow_up" name="Follow up"><bpmn:incoming>f6</bpmn:incoming><bpmn:outgoing>f7</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="followed"><bpmn:incoming>f7</bpmn:incoming></bpmn:endEvent>
    <bpmn:intermediateCatchEvent id="reply_caught" name="Reply"><bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f8</bpmn:outgoing><bpmn:messageEventDefinition messageRef="reply"/></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="replied"><bpmn:incoming>f8</bpmn:incoming></bpmn:endEvent>
""" + flows("f1:start>split f2:split>check f3:split>wait_a_day f4:split>reply_caught "
            "f5:check>note f6:wait_a_day>follow_up f7:follow_up>followed "
            "f8:reply_caught>replied f9:note>checked") + \
        '    <bpmn:subProcess id="on_news_sub" name="On news" triggeredByEvent="true">\n' + \
        handling_event_subprocess("news_start", start_attributes=f' name="News"{flag}',
                                  catch=catch, handle_title="Handle the news") + CLOSE
    return {"on_news.bpmn": text}
