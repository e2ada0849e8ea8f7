"""What each tool_choice mode lets the model write, for every native format (ARCHITECTURE.md,
"What the constraint guarantees"), checked through the compiled grammar."""

from __future__ import annotations

import json

import pytest

from functionary.formats.base import ParsedCall
from functionary.formats.code_tool import CODE_TOOL, code_arguments

from ..helpers import TOOLS, accepts, call, parse, request, same_calls
from ..test_constraint_modes import ADD_1_2, BAD_CALLS, GOOD_JSON, NOOP, PERSON, SEARCH_NESTED, TEXT, W_OSLO_F, W_PARIS
from .support import ENDS, FUNCTIONARY_NAMES, NATIVE_NAMES, TOOLS_WITH_CODE, load_native

CODE = ParsedCall(CODE_TOOL.name, code_arguments("import math\nprint(math.pi)"))


@pytest.fixture(params=NATIVE_NAMES)
def name(request):
    return request.param


def check_accepts(name, req, content, calls):
    fmt = load_native(name)
    text = fmt.render_assistant(content, calls)
    assert accepts(fmt, req, text), f"rejected: {text!r}"
    parsed = parse(fmt, req, text)
    assert parsed.content == content.strip()
    assert same_calls(parsed.calls, calls)


def check_rejects(name, req, content, calls):
    fmt = load_native(name)
    text = fmt.render_assistant(content, calls)
    assert not accepts(fmt, req, text), f"accepted: {text!r}"


AUTO_OK = [(TEXT, []), ("", [W_PARIS]), (TEXT, [W_PARIS]), ("", [NOOP]), ("", [SEARCH_NESTED]),
           ("Line one.\n\nLine two with {braces} and [brackets].", [W_OSLO_F])]
PARALLEL_OK = [("", [W_PARIS, ADD_1_2]), (TEXT, [W_PARIS, ADD_1_2, SEARCH_NESTED]), ("", [ADD_1_2, ADD_1_2])]


@pytest.mark.parametrize("content,calls", AUTO_OK + PARALLEL_OK)
def test_auto_parallel_accepts(name, content, calls):
    check_accepts(name, request("auto"), content, calls)


@pytest.mark.parametrize("content,calls", AUTO_OK)
def test_auto_single_accepts(name, content, calls):
    check_accepts(name, request("auto", parallel=False), content, calls)


@pytest.mark.parametrize("content,calls", PARALLEL_OK)
def test_auto_single_rejects_a_second_call(name, content, calls):
    check_rejects(name, request("auto", parallel=False), content, calls)


def test_auto_rejects_text_after_a_call(name):
    fmt = load_native(name)
    for parallel in (True, False):
        text = fmt.render_assistant("", [W_PARIS]) + " And more words."
        assert not accepts(fmt, request("auto", parallel=parallel), text)


@pytest.mark.parametrize("mode", ["auto", "required"])
@pytest.mark.parametrize("why", sorted(BAD_CALLS))
def test_schema_violations_rejected(name, mode, why):
    for content in ([""] if mode == "required" else ["", TEXT]):
        check_rejects(name, request(mode), content, [BAD_CALLS[why]])
        check_rejects(name, request(mode), content, [W_PARIS, BAD_CALLS[why]])


def test_required_means_calls_only(name):
    for parallel in (True, False):
        req = request("required", parallel=parallel)
        for calls in ([W_PARIS], [NOOP], [SEARCH_NESTED]):
            check_accepts(name, req, "", calls)
        for content, calls in [(TEXT, []), (TEXT, [W_PARIS]), ("", [])]:
            check_rejects(name, req, content, calls)
        assert not accepts(load_native(name), req, "")
    check_accepts(name, request("required"), "", [W_PARIS, ADD_1_2, NOOP])
    check_rejects(name, request("required", parallel=False), "", [W_PARIS, ADD_1_2])


def test_named_allows_exactly_one_call_to_that_tool(name):
    req = request("named", forced="add")
    check_accepts(name, req, "", [call("add", {"a": -3, "b": 40})])
    for content, calls in [("", [W_PARIS]), ("", [NOOP]), ("", [ADD_1_2, ADD_1_2]), (TEXT, [ADD_1_2]), (TEXT, [])]:
        check_rejects(name, req, content, calls)


def test_incomplete_call_is_not_a_complete_output(name):
    fmt = load_native(name)
    text = fmt.render_assistant("", [W_PARIS])
    for mode in ("auto", "required"):
        for cut in (1, 2, len(text) // 2):
            assert not accepts(fmt, request(mode), text[:-cut])


def test_none_mode_allows_text_only(name):
    fmt, req = load_native(name), request("none")
    if fmt.constraint(req) is None:
        assert name in ("llama3-json", "mistral", "hermes")  # free text; the parser reads no calls
    else:
        assert accepts(fmt, req, fmt.render_assistant(TEXT, []))
        for calls in ([W_PARIS], [W_PARIS, ADD_1_2]):
            assert not accepts(fmt, req, fmt.render_assistant("", calls))
    for content, calls in AUTO_OK + PARALLEL_OK:
        assert parse(fmt, req, fmt.render_assistant(content, calls)).calls == []


@pytest.mark.parametrize("mode", ["none", "auto"])
def test_response_schema_content_must_match(name, mode):
    req = request(mode, response_schema=PERSON)
    check_accepts(name, req, GOOD_JSON, [])
    for bad in [json.dumps({"name": "Ada"}), "Ada is 36.", json.dumps({"name": "Ada", "age": 36, "x": 1})]:
        check_rejects(name, req, bad, [])
    if mode == "auto":
        check_accepts(name, req, "", [W_PARIS])
        check_rejects(name, req, GOOD_JSON, [W_PARIS])


def test_constraint_is_deterministic(name):
    fmt = load_native(name)
    for mode, forced in [("auto", None), ("required", None), ("named", "add")]:
        assert fmt.constraint(request(mode, forced=forced)).key == fmt.constraint(request(mode, forced=forced)).key


# -- end-of-turn tokens and the code channel of the Functionary formats --


@pytest.mark.parametrize("fname", FUNCTIONARY_NAMES)
def test_an_end_token_ends_the_reply(fname):
    fmt = load_native(fname)
    for mode, content, calls in [("auto", TEXT, []), ("auto", TEXT, [W_PARIS]), ("required", "", [ADD_1_2])]:
        text = fmt.render_assistant(content, calls)
        for end in ENDS[fname]:
            assert accepts(fmt, request(mode), text + end)
            assert not accepts(fmt, request(mode), text + end + "more")
            parsed = parse(fmt, request(mode), text + end + "ignored")
            assert parsed.content == content and same_calls(parsed.calls, calls)
    # end tokens are never text
    assert not accepts(fmt, request("auto"), fmt.render_assistant(f"a{ENDS[fname][0]}b", []))


@pytest.mark.parametrize("fname", FUNCTIONARY_NAMES)
def test_code_tool_is_raw_code(fname):
    fmt, req = load_native(fname), request("auto", tools=TOOLS_WITH_CODE)
    for content, calls in [("", [CODE]), (TEXT, [CODE]), (TEXT, [W_PARIS, CODE])]:
        text = fmt.render_assistant(content, calls)
        assert "print(math.pi)" in text and '"code"' not in text  # raw, not JSON
        check_accepts(fname, req, content, calls)
    # without the code tool there is no code channel
    check_rejects(fname, request("auto"), "", [CODE])
    check_accepts(fname, request("named", forced="python", tools=TOOLS_WITH_CODE), "", [CODE])
    check_rejects(fname, request("named", forced="python", tools=TOOLS_WITH_CODE), "", [W_PARIS])


def test_code_tool_is_a_json_function_elsewhere():
    for fname in ("hermes", "llama3-json", "mistral"):
        fmt = load_native(fname)
        text = fmt.render_assistant("", [CODE])
        assert '"code": "import math' in text
        check_accepts(fname, request("required", tools=TOOLS_WITH_CODE), "", [CODE])


def test_llama31_code_comes_last():
    fmt, req = load_native("v3-llama3.1"), request("auto", tools=TOOLS_WITH_CODE)
    text = fmt.render_assistant("", [CODE]) + fmt.render_assistant("", [W_PARIS])
    parsed = parse(fmt, req, text)  # everything after <|python_tag|> is code
    assert [c.name for c in parsed.calls] == ["python"]
    assert json.loads(parsed.calls[0].arguments)["code"].endswith("</function>")


@pytest.mark.parametrize("fname", NATIVE_NAMES)
def test_no_tools_means_no_calls(fname):
    fmt = load_native(fname)
    req = request("auto", tools=())
    assert parse(fmt, req, fmt.render_assistant("", [W_PARIS])).calls == []


def test_tools_fixture_has_no_code_tool():
    assert not any(f.code for f in TOOLS)


@pytest.mark.parametrize("fname,markup", [("v2", "<|from|>"), ("v2", "<|content|>"), ("v3.llama3", "<|start_header_id|>"),
                                          ("v3-llama3.1", "<|start_header_id|>")])
def test_other_turns_markup_is_never_text_or_code(fname, markup):
    fmt = load_native(fname)
    # (v2's auto text may hold them: they are part of its segment marker, see recipient_segments)
    for req in (request("auto", tools=TOOLS_WITH_CODE), request("none")) if fname != "v2" else (request("none"),):
        assert not accepts(fmt, req, fmt.render_assistant(f"a{markup}user", []))
    code = ParsedCall(CODE_TOOL.name, code_arguments(f"x = 1{markup}"))
    assert not accepts(fmt, request("auto", tools=TOOLS_WITH_CODE), fmt.render_assistant("", [code]))
