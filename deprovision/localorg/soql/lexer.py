"""SOQL tokens, with Salesforce's string escapes and error positions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from deprovision.localorg.errors import MALFORMED_QUERY, SalesforceError

# Token kinds
IDENT, STRING, NUMBER, DATE, DATETIME, PUNCT, EOF = "ident", "string", "number", "date", "datetime", "punct", "eof"

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_LIKE_WILDCARDS = {"%", "_"}

_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2})")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}(?![\w:])")
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?![\w.])")
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_PUNCT = ("<=", ">=", "!=", "<>", "=", "<", ">", "(", ")", ",", ":")


@dataclass(frozen=True)
class Token:
    """One token: its kind, text as written, value, and offset in the query."""

    kind: str
    text: str
    pos: int
    value: object = None
    # For strings: the SQL LIKE pattern (escape character '\') and whether \% or \_ occurred.
    like_pattern: str | None = None
    has_like_escape: bool = False

    def is_word(self, *words: str) -> bool:
        """True when this is an identifier equal (ignoring case) to one of ``words``."""
        return self.kind == IDENT and self.text.upper() in words


def position(soql: str, pos: int) -> tuple[int, int, str]:
    """Row and column (1-based) of offset ``pos``, and the text of that line."""
    pos = max(0, min(pos, len(soql)))
    row = soql.count("\n", 0, pos) + 1
    start = soql.rfind("\n", 0, pos) + 1
    end = soql.find("\n", pos)
    line = soql[start : end if end >= 0 else len(soql)]
    return row, pos - start + 1, line


def located_message(soql: str, pos: int, message: str) -> str:
    """Salesforce's message layout: the query line, a caret under the spot, Row/Column, the text."""
    row, column, line = position(soql, pos)
    caret_column = column
    if len(line) > 120:  # long lines show a window around the spot, as Salesforce does
        start = max(0, column - 80)
        line = line[start : start + 120]
        caret_column = column - start
    return f"\n{line}\n{' ' * (caret_column - 1)}^\nERROR at Row:{row}:Column:{column}\n{message}"


def error_at(cls: type[SalesforceError], soql: str, pos: int, message: str) -> SalesforceError:
    """An error of class ``cls`` whose message points at offset ``pos`` of ``soql``."""
    return cls(located_message(soql, pos, message))


def unexpected(soql: str, token: Token) -> SalesforceError:
    """MALFORMED_QUERY for a token the grammar does not allow here."""
    text = token.text if token.kind != EOF else "<EOF>"
    return error_at(MALFORMED_QUERY, soql, token.pos, f"unexpected token: '{text}'")


def _read_string(soql: str, start: int) -> Token:
    """Read the single-quoted literal starting at ``start``."""
    value: list[str] = []
    pattern: list[str] = []
    has_like_escape = False
    i = start + 1
    n = len(soql)
    while i < n:
        ch = soql[i]
        if ch == "'":
            text = soql[start : i + 1]
            return Token(STRING, text, start, "".join(value), "".join(pattern), has_like_escape)
        if ch == "\\":
            nxt = soql[i + 1] if i + 1 < n else ""
            if nxt.lower() in _ESCAPES or nxt in _ESCAPES:
                decoded = _ESCAPES.get(nxt, _ESCAPES.get(nxt.lower(), ""))
                value.append(decoded)
                pattern.append("\\\\" if decoded == "\\" else decoded)
                i += 2
                continue
            if nxt in ("u", "U") and re.fullmatch(r"[0-9a-fA-F]{4}", soql[i + 2 : i + 6]):
                code = int(soql[i + 2 : i + 6], 16)
                width = 6
                low = re.fullmatch(r"\\u([dD][c-fC-F][0-9a-fA-F]{2})", soql[i + 6 : i + 12])
                if 0xD800 <= code <= 0xDBFF and low:  # a surrogate pair: one character
                    code = 0x10000 + ((code - 0xD800) << 10) + (int(low.group(1), 16) - 0xDC00)
                    width = 12
                elif 0xD800 <= code <= 0xDFFF:
                    raise error_at(MALFORMED_QUERY, soql, start, f"Invalid string literal. Illegal character "
                                   f"sequence '{soql[i : i + 6]}' in string literal.")
                decoded = chr(code)
                value.append(decoded)
                pattern.append("\\" + decoded if decoded in _LIKE_WILDCARDS or decoded == "\\" else decoded)
                i += width
                continue
            if nxt in _LIKE_WILDCARDS:
                has_like_escape = True
                value.append(nxt)
                pattern.append("\\" + nxt)
                i += 2
                continue
            end = soql.find("'", i + 2)
            literal = soql[start : end + 1 if end >= 0 else n]
            raise error_at(
                MALFORMED_QUERY, soql, start,
                f"Invalid string literal {literal}. Illegal character sequence '\\{nxt}' in string literal.",
            )
        value.append(ch)
        pattern.append(ch)
        i += 1
    raise error_at(MALFORMED_QUERY, soql, n,
                   f"line {_line_of(soql, n)}:{_column_of(soql, n)} mismatched character '<EOF>' expecting '''")


def tokenize(soql: str) -> list[Token]:
    """Split ``soql`` into tokens; raises MALFORMED_QUERY for text SOQL cannot contain."""
    bad = re.search(r"[\ud800-\udfff]", soql)
    if bad:  # lone surrogates cannot be stored or compared
        raise error_at(MALFORMED_QUERY, soql, bad.start(), "unexpected token: invalid character")
    tokens: list[Token] = []
    i, n = 0, len(soql)
    while i < n:
        ch = soql[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "'":
            tok = _read_string(soql, i)
            tokens.append(tok)
            i += len(tok.text)
            continue
        if ch.isdigit() or (ch in "+-." and i + 1 < n and (soql[i + 1].isdigit() or soql[i + 1] == ".")):
            m = _DATETIME_RE.match(soql, i) if ch.isdigit() else None
            if m:
                tokens.append(Token(DATETIME, m.group(), i, m.group()))
                i = m.end()
                continue
            m = _DATE_RE.match(soql, i) if ch.isdigit() else None
            if m:
                tokens.append(Token(DATE, m.group(), i, m.group()))
                i = m.end()
                continue
            m = _NUMBER_RE.match(soql, i)
            if m:
                text = m.group()
                value: object = float(text) if ("." in text) else int(text)
                if isinstance(value, int) and abs(value) >= 2**63:  # beyond SQLite's integers: a double
                    value = float(value)
                tokens.append(Token(NUMBER, text, i, value))
                i = m.end()
                continue
            raise error_at(MALFORMED_QUERY, soql, i, f"unexpected token: '{_word_at(soql, i)}'")
        m = _IDENT_RE.match(soql, i)
        if m:
            tokens.append(Token(IDENT, m.group(), i, m.group()))
            i = m.end()
            continue
        for p in _PUNCT:
            if soql.startswith(p, i):
                tokens.append(Token(PUNCT, p, i, p))
                i += len(p)
                break
        else:
            raise error_at(
                MALFORMED_QUERY, soql, i, f"line {_line_of(soql, i)}:{_column_of(soql, i)} "
                f"no viable alternative at character '{ch}'",
            )
    tokens.append(Token(EOF, "", n))
    return tokens


def _word_at(soql: str, i: int) -> str:
    m = re.match(r"\S+", soql[i:])
    return m.group() if m else soql[i:]


def _line_of(soql: str, i: int) -> int:
    return soql.count("\n", 0, i) + 1


def _column_of(soql: str, i: int) -> int:
    return i - (soql.rfind("\n", 0, i) + 1)
