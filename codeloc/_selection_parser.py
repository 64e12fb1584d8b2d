"""The selection expression language: a tokenizer and a recursive-descent parser.

Grammar and examples are in the docstring of ``codeloc._selection``; this module turns text
into ``AssetSelection`` values, built only through the public constructors and operators of
``AssetSelection``, and raises ``SelectionError`` with the exact position of the offending
token.
"""

from __future__ import annotations

import difflib
import re
from typing import NamedTuple

from codeloc._errors import SelectionError
from codeloc._key import AssetKey
from codeloc._selection import KEYWORDS, SEGMENT_CHARS, AssetSelection

__all__ = ["parse_selection"]

_WORD_CHARS = frozenset(SEGMENT_CHARS + "/")
_GLOB_CHARS = _WORD_CHARS | {"*"}  # right after "key:", where "*" is a wildcard
_ATTRIBUTES = ("key", "group", "location", "tag", "key_prefix", "kind", "owner")
_FUNCTIONS = ("sinks", "roots", "required_multi_asset_neighbors")


class _Token(NamedTuple):
    kind: str  # "word", "string", "attr", "end", a keyword, or the punctuation itself
    text: str  # for "string", the raw content between the quotes, escapes undone later
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, glob = 0, False
    while i < len(text):
        char, start = text[i], i
        if char.isspace():
            i += 1
            continue
        if char in "()+*=" and not (glob and char == "*"):
            tokens.append(_Token(char, char, i))
            i += 1
        elif char == '"':
            i += 1
            while i < len(text) and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            if i >= len(text):
                raise SelectionError("unclosed string", text, start)
            i += 1
            tokens.append(_Token("string", text[start + 1 : i - 1], start))
        elif char in _WORD_CHARS or (glob and char == "*"):
            chars = _GLOB_CHARS if glob else _WORD_CHARS
            while i < len(text) and text[i] in chars:
                i += 1
            word = text[start:i]
            if i < len(text) and text[i] == ":":
                i += 1
                tokens.append(_Token("attr", word, start))
                glob = word.lower() == "key"
                continue
            kind = word.lower() if word.lower() in KEYWORDS else "word"
            tokens.append(_Token(kind, word, start))
        else:
            raise SelectionError(f"unexpected character {char!r}", text, i)
        glob = False
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _split_escaped(raw: str) -> list[str]:
    segments = [""]
    for piece in re.findall(r"\\.|[^\\/]+|/", raw, flags=re.DOTALL):
        if piece == "/":
            segments.append("")
        else:
            segments[-1] += piece[1] if piece[0] == "\\" else piece
    return segments


_TERM_START = frozenset({"word", "string", "attr", "("})
_MAX_NESTING = 100


def _is_number(token: _Token) -> bool:
    return token.kind == "word" and token.text.isdigit()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.nesting_left = _MAX_NESTING

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def accept(self, kind: str) -> bool:
        if self.peek().kind != kind:
            return False
        self.index += 1
        return True

    def take(self) -> _Token:
        token = self.peek()
        self.index += 1
        return token

    def error(self, message: str, position: int) -> SelectionError:
        return SelectionError(message, expression=self.text, position=position)

    def parse(self) -> AssetSelection:
        if self.peek().kind == "end":
            raise self.error("empty selection expression", 0)
        selection = self.parse_or()
        token = self.peek()
        if token.kind == ")":
            raise self.error("unmatched ')'", token.pos)
        if token.kind != "end":
            raise self.error(f"expected 'and' or 'or', found {token.text!r}", token.pos)
        return selection

    def parse_or(self) -> AssetSelection:
        operands = [self.parse_and()]
        while self.accept("or"):
            operands.append(self.parse_and())
        return AssetSelection.any_of(*operands)

    def parse_and(self) -> AssetSelection:
        operands = [self.parse_not()]
        while self.accept("and"):
            operands.append(self.parse_not())
        return AssetSelection.all_of(*operands)

    def parse_not(self) -> AssetSelection:
        # Every "(" and "not" passes here: bound the recursion before Python does.
        if self.nesting_left == 0:
            raise self.error("expression nested too deeply", self.peek().pos)
        self.nesting_left -= 1
        selection = ~self.parse_not() if self.accept("not") else self.parse_lineage()
        self.nesting_left += 1
        return selection

    def parse_lineage(self) -> AssetSelection:
        """``+`` counts levels around a bare key (``a++``, as the reference's legacy clauses
        do) and means every level around any other term (``key:a+``, ``+group:g``, as the
        reference's current syntax does), where ``N+`` / ``+N`` give the depth."""
        first, second = self.peek(), self.peek(1)
        up: int | None = 0
        if first.kind == "*" and second.kind in _TERM_START:
            self.take()
            up = None
        elif first.kind == "+":
            count = self.count_plus()
            up = count if self.bare_ahead() else self.every_level(count, first, "N+")
        elif _is_number(first) and second.kind == "+" and self.peek(2).kind in _TERM_START:
            up = self.depth(self.take())
            self.take()
        bare = self.bare_ahead()
        operand = self.parse_primary()
        down: int | None = 0
        if self.accept("*"):
            down = None
        elif self.peek().kind == "+" and _is_number(self.peek(1)):
            self.take()
            down = self.depth(self.take())
        elif self.peek().kind == "+":
            plus = self.peek()
            count = self.count_plus()
            down = count if bare else self.every_level(count, plus, "+N")
        if up == down == 0:
            return operand
        return operand.with_lineage(upstream=up, downstream=down)

    def bare_ahead(self) -> bool:
        """Whether the next term is a bare key (a word or a quoted key, not ``f(...)``)."""
        token = self.peek()
        if token.kind == "string":
            return True
        return token.kind == "word" and not (
            token.text.lower() in _FUNCTIONS and self.peek(1).kind == "("
        )

    def every_level(self, count: int, plus: _Token, form: str) -> int | None:
        """The depth of one "+" around a term that is not a bare key: every level."""
        if count > 1:
            raise self.error(
                f"{'+' * count!r} around a term that is not a bare key: there '+' already "
                f"means every level; write '{form}' for N levels",
                plus.pos,
            )
        return None

    def count_plus(self) -> int:
        count = 0
        while self.accept("+"):
            count += 1
        return count

    def depth(self, token: _Token) -> int:
        if int(token.text) < 1:
            raise self.error("lineage depth must be at least 1", token.pos)
        return int(token.text)

    def parse_primary(self) -> AssetSelection:
        token = self.take()
        if token.kind == "(":
            selection = self.parse_or()
            closing = self.take()
            if closing.kind == "end":
                raise self.error("unclosed '('", token.pos)
            if closing.kind != ")":
                found = closing.text
                raise self.error(f"expected 'and', 'or' or ')', found {found!r}", closing.pos)
            return selection
        if token.kind == "*":
            return AssetSelection.all()
        if token.kind == "word" and token.text.lower() in _FUNCTIONS and self.peek().kind == "(":
            return self.function(token)
        if token.kind in ("word", "string"):
            return self.key(token)
        if token.kind == "attr":
            return self.attribute(token)
        previous = self.tokens[self.index - 2] if self.index >= 2 else None
        if token.kind != "end":
            raise self.error(f"expected an asset selection, found {token.text!r}", token.pos)
        if previous is None:
            raise self.error("empty selection expression", token.pos)
        if previous.kind == "(":
            raise self.error("unclosed '('", previous.pos)
        raise self.error(f"nothing after {previous.text!r}", previous.pos)

    def function(self, token: _Token) -> AssetSelection:
        """``sinks(sel)``, ``roots(sel)`` ...; a key named so is one without ``(`` after it."""
        opening = self.take()
        operand = self.parse_or()
        if not self.accept(")"):
            raise self.error("unclosed '('", opening.pos)
        name = token.text.lower()
        if name == "sinks":
            return operand.sinks()
        if name == "roots":
            return operand.roots()
        return operand.required_multi_asset_neighbors()

    def key(self, token: _Token) -> AssetSelection:
        raw = token.text
        segments = _split_escaped(raw) if token.kind == "string" else raw.split("/")
        if not all(segments):
            raise self.error("empty segment in asset key", token.pos)
        if token.kind == "word" and "*" in raw:
            return AssetSelection.key_glob(raw)
        return AssetSelection.keys(AssetKey(segments))

    def attribute(self, token: _Token) -> AssetSelection:
        name = token.text.lower()
        if name not in _ATTRIBUTES:
            close = difflib.get_close_matches(name, _ATTRIBUTES, n=1)
            hint = f"did you mean '{close[0]}:'? " if close else ""
            known = ", ".join(f"{a}:" for a in _ATTRIBUTES)
            raise self.error(f"unknown attribute {token.text!r}; {hint}use {known}", token.pos)
        if name == "key":
            return self.key(self.value_token(token))
        if name == "key_prefix":
            value_token = self.value_token(token)
            raw = value_token.text
            segments = _split_escaped(raw) if value_token.kind == "string" else raw.split("/")
            if not all(segments):
                raise self.error("empty segment in key prefix", value_token.pos)
            return AssetSelection.key_prefixes(segments)
        value = self.value(token)
        if name == "group":
            return AssetSelection.groups(value)
        if name == "location":
            return AssetSelection.locations(value)
        if name == "kind":
            return AssetSelection.kind(value)
        if name == "owner":
            return AssetSelection.owner(value)
        tag_value = self.value(self.take()) if self.peek().kind == "=" else None
        return AssetSelection.tag(value, tag_value)

    def value_token(self, after: _Token) -> _Token:
        token = self.take()
        if token.kind not in ("word", "string"):
            found = "nothing" if token.kind == "end" else repr(token.text)
            what = f"{after.text}:" if after.kind == "attr" else after.text
            raise self.error(f"expected a value after {what!r}, found {found}", token.pos)
        return token

    def value(self, after: _Token) -> str:
        token = self.value_token(after)
        return "/".join(_split_escaped(token.text)) if token.kind == "string" else token.text


def parse_selection(text: str) -> AssetSelection:
    """Parse a selection expression (see the module docstring for the grammar).

    Raises:
        SelectionError: The text does not parse; ``position`` is the offset of the problem.
    """
    return _Parser(text).parse()
