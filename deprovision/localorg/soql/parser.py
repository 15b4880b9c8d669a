"""Recursive-descent parser for the SOQL subset the local org answers."""

from __future__ import annotations

from datetime import date

from deprovision.localorg.errors import MALFORMED_QUERY, SalesforceError
from deprovision.localorg.soql import ast
from deprovision.localorg.soql.lexer import (
    DATE,
    DATETIME,
    EOF,
    IDENT,
    NUMBER,
    PUNCT,
    STRING,
    Token,
    error_at,
    tokenize,
    unexpected,
)
from deprovision.localorg.soql.values import parse_datetime_literal

AGGREGATES = ("COUNT", "COUNT_DISTINCT", "MIN", "MAX", "SUM", "AVG")
DATE_FUNCTIONS = ("TODAY", "YESTERDAY", "TOMORROW", "LAST_90_DAYS", "NEXT_90_DAYS", "LAST_MONTH", "THIS_MONTH",
                  "NEXT_MONTH", "LAST_YEAR", "THIS_YEAR", "NEXT_YEAR")
DATE_N_FUNCTIONS = ("LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO")
MAX_OFFSET = 2000
MAX_INT = 2**31 - 1  # LIMIT, OFFSET and LAST_N_DAYS:n take 32-bit integers
MAX_NESTING = 100  # keeps a hostile query from exhausting the parser's stack
COMPARISON_OPS = ("=", "!=", "<>", "<", ">", "<=", ">=")
# Words that end a SELECT item or a clause, so they cannot be aliases.
_CLAUSE_WORDS = frozenset(
    {"FROM", "WHERE", "WITH", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "FOR", "USING", "AND", "OR",
     "NOT", "IN", "LIKE", "INCLUDES", "EXCLUDES", "ASC", "DESC", "NULLS", "SELECT", "TYPEOF", "AS", "WHEN",
     "THEN", "ELSE", "END"}
)


class _Parser:
    def __init__(self, soql: str) -> None:
        self.soql = soql
        self.tokens = tokenize(soql)
        self.i = 0
        self.depth = 0  # parentheses and NOTs around the current condition

    # --- token helpers -------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != EOF:
            self.i += 1
        return tok

    def at_word(self, *words: str) -> bool:
        return self.tok.is_word(*words)

    def at_punct(self, *puncts: str) -> bool:
        return self.tok.kind == PUNCT and self.tok.text in puncts

    def expect_word(self, word: str) -> Token:
        if not self.at_word(word):
            raise unexpected(self.soql, self.tok)
        return self.advance()

    def expect_punct(self, punct: str) -> Token:
        if not self.at_punct(punct):
            raise unexpected(self.soql, self.tok)
        return self.advance()

    def fail(self) -> Exception:
        return unexpected(self.soql, self.tok)

    # --- grammar ---------------------------------------------------------------------------------
    def query(self, *, nested: bool = False, child: bool = False) -> ast.Query:
        """A SELECT; ``nested`` for a sub-select (semi-join or child relationship), ``child`` for the latter."""
        self.expect_word("SELECT")
        select = self.select_list(allow_subqueries=not nested)
        self.expect_word("FROM")
        # "Group" and "Order" are object names too (FROM Group, FROM Order), unless they start GROUP BY / ORDER BY
        is_group_object = self.tok.text.upper() in ("GROUP", "ORDER") and not self.peek().is_word("BY")
        if self.tok.kind != IDENT or "." in self.tok.text or (
                self.tok.text.upper() in _CLAUSE_WORDS and not is_group_object):
            raise self.fail()
        obj = self.advance()
        scope, scope_pos = None, 0
        if self.at_word("USING"):
            self.advance()
            self.expect_word("SCOPE")
            if self.tok.kind != IDENT or self.tok.text.upper() in _CLAUSE_WORDS:
                raise self.fail()
            scope_pos = self.tok.pos
            scope = self.advance().text
        where = having = None
        group_by: tuple[ast.FieldPath, ...] = ()
        order_by: tuple[ast.OrderItem, ...] = ()
        limit = offset = None
        if self.at_word("WHERE"):
            self.advance()
            where = self.condition(nested=nested)
        if self.at_word("WITH"):
            self.advance()
            if not self.at_word("SECURITY_ENFORCED", "USER_MODE", "SYSTEM_MODE"):
                raise self.fail()
            self.advance()
        if self.at_word("GROUP"):
            self.advance()
            self.expect_word("BY")
            group_by = self.field_list()
        if self.at_word("HAVING"):
            if not group_by:
                raise self.fail()
            self.advance()
            having = self.condition(nested=True, allow_aggregates=True)
        if self.at_word("ORDER"):
            self.advance()
            self.expect_word("BY")
            order_by = self.order_list()
        if self.at_word("LIMIT"):
            self.advance()
            limit = self.non_negative_int()
        if self.at_word("OFFSET"):
            self.advance()
            offset = self.non_negative_int()
            if offset > MAX_OFFSET:
                raise SalesforceError(f"Maximum SOQL offset allowed is {MAX_OFFSET}",
                                      error_code="NUMBER_OUTSIDE_VALID_RANGE")
        if self.at_word("FOR"):
            self.advance()
            if not self.at_word("UPDATE", "VIEW", "REFERENCE"):
                raise self.fail()
            self.advance()
        if not nested and self.tok.kind != EOF:
            raise self.fail()
        return ast.Query(select, obj.text, obj.pos, where, group_by, having, order_by, limit, offset,
                         source=self.soql, scope=scope, scope_pos=scope_pos)

    def non_negative_int(self) -> int:
        tok = self.tok
        if (tok.kind != NUMBER or not isinstance(tok.value, int) or tok.value < 0 or tok.text[0] in "+-"
                or tok.value > MAX_INT):
            raise self.fail()
        self.advance()
        return int(tok.value)

    def select_list(self, *, allow_subqueries: bool = True) -> tuple[ast.SelectItem, ...]:
        items = [self.select_item(allow_subqueries)]
        while self.at_punct(","):
            self.advance()
            items.append(self.select_item(allow_subqueries))
        return tuple(items)

    def select_item(self, allow_subqueries: bool = True) -> ast.SelectItem:
        if self.at_punct("(") and self.peek().is_word("SELECT"):
            if not allow_subqueries:  # Salesforce: one level of parent-to-child relationship queries
                raise error_at(MALFORMED_QUERY, self.soql, self.tok.pos,
                               "Nesting of child relationship sub-selects is not supported")
            start = self.advance()
            sub = self.query(nested=True, child=True)
            self.expect_punct(")")
            return ast.SelectItem(ast.SubQuery(sub, start.pos))
        if self.at_word("TYPEOF"):
            return ast.SelectItem(self.typeof())
        if self.tok.kind != IDENT or self.tok.text.upper() in _CLAUSE_WORDS:
            raise self.fail()
        if self.peek().kind == PUNCT and self.peek().text == "(":
            expr: ast.FieldPath | ast.Aggregate = self.aggregate()
        else:
            expr = self.field_path()
        alias = None
        if self.tok.kind == IDENT and "." not in self.tok.text and self.tok.text.upper() not in _CLAUSE_WORDS:
            alias = self.advance().text
        return ast.SelectItem(expr, alias)

    def typeof(self) -> ast.TypeOf:
        """``TYPEOF rel WHEN Type THEN f1, f2 ... [ELSE f3, ...] END``."""
        start = self.expect_word("TYPEOF")
        if self.tok.kind != IDENT or "." in self.tok.text or self.tok.text.upper() in _CLAUSE_WORDS:
            raise self.fail()
        relationship = self.advance().text
        whens = []
        while self.at_word("WHEN"):
            self.advance()
            if self.tok.kind != IDENT or "." in self.tok.text:  # "Group" is a type name here
                raise self.fail()
            type_tok = self.advance()
            self.expect_word("THEN")
            whens.append(ast.TypeOfWhen(type_tok.text, self.field_list(), type_tok.pos))
        if not whens:
            raise self.fail()
        else_fields: tuple[ast.FieldPath, ...] = ()
        if self.at_word("ELSE"):
            self.advance()
            else_fields = self.field_list()
        self.expect_word("END")
        return ast.TypeOf(relationship, tuple(whens), else_fields, start.pos)

    def aggregate(self) -> ast.Aggregate:
        name = self.tok
        if name.text.upper() not in AGGREGATES:
            raise self.fail()
        self.advance()
        self.expect_punct("(")
        fld = None
        if not self.at_punct(")"):
            fld = self.field_path()
        elif name.text.upper() != "COUNT":
            raise self.fail()
        self.expect_punct(")")
        return ast.Aggregate(name.text.upper(), fld, name.pos)

    def field_path(self) -> ast.FieldPath:
        tok = self.tok
        if tok.kind != IDENT or tok.text.upper() in _CLAUSE_WORDS:
            raise self.fail()
        self.advance()
        return ast.FieldPath(tuple(tok.text.split(".")), tok.pos)

    def field_list(self) -> tuple[ast.FieldPath, ...]:
        items = [self.field_path()]
        while self.at_punct(","):
            self.advance()
            items.append(self.field_path())
        return tuple(items)

    def order_list(self) -> tuple[ast.OrderItem, ...]:
        items = []
        while True:
            if self.peek().kind == PUNCT and self.peek().text == "(":
                expr: ast.FieldPath | ast.Aggregate = self.aggregate()
            else:
                expr = self.field_path()
            descending = False
            nulls_last = None
            if self.at_word("ASC", "DESC"):
                descending = self.advance().text.upper() == "DESC"
            if self.at_word("NULLS"):
                self.advance()
                if not self.at_word("FIRST", "LAST"):
                    raise self.fail()
                nulls_last = self.advance().text.upper() == "LAST"
            items.append(ast.OrderItem(expr, descending, nulls_last))
            if not self.at_punct(","):
                return tuple(items)
            self.advance()

    # --- conditions ------------------------------------------------------------------------------
    def condition(self, *, nested: bool = False, allow_aggregates: bool = False) -> ast.Condition:
        """A condition; AND and OR may not be mixed without parentheses (as in Salesforce)."""
        first = self.term(nested, allow_aggregates)
        if not self.at_word("AND", "OR"):
            return first
        op = self.tok.text.upper()
        items = [first]
        while self.at_word("AND", "OR"):
            if self.tok.text.upper() != op:
                raise self.fail()
            self.advance()
            items.append(self.term(nested, allow_aggregates))
        return ast.BoolOp(op, tuple(items))

    def term(self, nested: bool, allow_aggregates: bool) -> ast.Condition:
        if self.at_word("NOT") or self.at_punct("("):
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise error_at(MALFORMED_QUERY, self.soql, self.tok.pos, "Query is too complicated: too deeply nested")
            try:
                if self.advance().text == "(":
                    cond = self.condition(nested=nested, allow_aggregates=allow_aggregates)
                    self.expect_punct(")")
                    return cond
                return ast.Not(self.term(nested, allow_aggregates))
            finally:
                self.depth -= 1
        return self.simple_condition(nested, allow_aggregates)

    def simple_condition(self, nested: bool, allow_aggregates: bool) -> ast.Condition:
        start = self.tok
        if allow_aggregates and self.peek().kind == PUNCT and self.peek().text == "(":
            left: ast.FieldPath | ast.Aggregate = self.aggregate()
        else:
            left = self.field_path()
        if self.at_punct(*COMPARISON_OPS):
            op = self.advance().text
            return ast.Comparison(left, "!=" if op == "<>" else op, self.value(), start.pos)
        if self.at_word("LIKE"):
            self.advance()
            if self.tok.kind != STRING and not self.at_word("NULL"):
                raise self.fail()
            return ast.Comparison(left, "LIKE", self.value(allow_like_escape=True), start.pos)
        negated = False
        if self.at_word("NOT") and self.peek().is_word("IN"):
            self.advance()
            negated = True
        if self.at_word("IN"):
            if not isinstance(left, ast.FieldPath):
                raise self.fail()
            self.advance()
            self.expect_punct("(")
            if self.at_word("SELECT"):
                if nested:
                    raise error_at(MALFORMED_QUERY, self.soql, self.tok.pos,
                                   "Nesting of semi join sub-selects is not supported")
                sub = self.query(nested=True)
                self.expect_punct(")")
                return ast.SemiJoin(left, sub, negated, start.pos)
            values = [self.value()]
            while self.at_punct(","):
                self.advance()
                values.append(self.value())
            self.expect_punct(")")
            return ast.InList(left, tuple(values), negated, start.pos)
        raise self.fail()

    def value(self, *, allow_like_escape: bool = False) -> ast.Value:
        tok = self.tok
        if tok.kind == STRING:
            if tok.has_like_escape and not allow_like_escape:  # \% and \_ belong to LIKE patterns only
                sequence = "\\%" if "\\%" in tok.text else "\\_"
                raise error_at(
                    MALFORMED_QUERY, self.soql, tok.pos,
                    f"Invalid string literal {tok.text}. Illegal character sequence '{sequence}' in string literal.",
                )
            self.advance()
            return ast.Literal("string", tok.value, tok.pos, tok.like_pattern, tok.has_like_escape)
        if tok.kind == NUMBER:
            self.advance()
            return ast.Literal("number", tok.value, tok.pos)
        if tok.kind in (DATE, DATETIME):
            try:
                if tok.kind == DATE:
                    date.fromisoformat(tok.text)
                else:
                    parse_datetime_literal(tok.text)
            except ValueError:
                raise self.fail() from None
            self.advance()
            return ast.Literal(tok.kind, tok.value, tok.pos)
        if tok.kind == IDENT:
            word = tok.text.upper()
            if word == "NULL":
                self.advance()
                return ast.Literal("null", None, tok.pos)
            if word in ("TRUE", "FALSE"):
                self.advance()
                return ast.Literal("boolean", word == "TRUE", tok.pos)
            if word in DATE_FUNCTIONS:
                self.advance()
                return ast.DateFunction(word, None, tok.pos)
            if word in DATE_N_FUNCTIONS:
                self.advance()
                self.expect_punct(":")
                n = self.non_negative_int()
                return ast.DateFunction(word, n, tok.pos)
        raise self.fail()


MAX_SOQL_CHARS = 100_000


def parse(soql: str) -> ast.Query:
    """Parse ``soql``; raises MALFORMED_QUERY with Salesforce's Row/Column message."""
    if len(soql) > MAX_SOQL_CHARS:
        raise MALFORMED_QUERY(f"SOQL statements can not be longer than {MAX_SOQL_CHARS} characters")
    return _Parser(soql).query()
