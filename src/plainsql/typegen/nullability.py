"""Which result columns can be NULL, which parameters may be None, read from the server's plan.

The input is the generic plan of a prepared statement as PostgreSQL serialises it
(:mod:`plainsql.typegen.nodetree`). Each result column is traced down the plan tree, Var by
Var, to where its value is produced:

- a column of a table is NOT NULL when its attribute is (or its domain is), unless it passes
  through the null-extended side of an outer join on its way up. The side is read from the
  join node itself: for a LEFT join the inner child (``righttree``) is null-extended, for a
  RIGHT join the outer child (``lefttree``), for a FULL join both. So a ``LEFT JOIN`` that
  the planner runs as a Hash Right Join (hashing the preserved side) is still right, and a
  ``LEFT JOIN`` the planner reduced to an inner join (a strict ``WHERE`` on its right side)
  yields NOT NULL columns, as PostgreSQL proved;
- through subquery scans, CTE scans, VALUES lists, set operations (a column of a UNION is
  nullable when it is in any branch) and recursive CTEs (to a fixpoint);
- expressions are nullable unless a rule proves them NOT NULL (docs/typegen.md,
  "Nullability", has the table): constants by their value; ``count()`` and the ranking
  window functions; ``COALESCE``/``GREATEST``/``LEAST`` with a NOT NULL argument, and the
  merged key of a FULL JOIN USING; ``CASE`` with NOT NULL branches and ``ELSE``; boolean
  operators, NULL tests, ``EXISTS``, arrays and rows; PostgreSQL's own casts (not from
  json/jsonb: PostgreSQL 18 casts a JSON null to NULL), comparisons, arithmetic and
  concatenations over NOT NULL operands; ``concat``, ``concat_ws``, ``json[b]_build_*``,
  ``cardinality``; aggregates over a group (GROUP BY, no FILTER, no grouping sets) or a
  window frame holding the current row; ``ntile``, ``lag``/``lead`` with a default; ``IN``
  over NOT NULL sides; a scalar sub-select of exactly one row (``LIMIT 1`` included);
  ``generate_series`` and ``WITH ORDINALITY``; INTERSECT/EXCEPT from their branches;
  a column a top-level conjunct of the filter where it is produced tests with ``IS NOT
  NULL`` or a strict operator. Everything else (other operators and functions, parameters)
  is nullable.

A parameter may be None when the query can use a NULL there: it is written to a nullable
column (INSERT, UPDATE SET, ON CONFLICT DO UPDATE SET; as it is, cast, or as a branch of a
``CASE``) or tested with ``IS NULL``,
``IS DISTINCT FROM`` or ``COALESCE``. Elsewhere (``WHERE id = :id``) a NULL would match
nothing, so the parameter is typed without ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plainsql.typegen.nodetree import Node, boolean, integer, node_type, walk
from plainsql.typegen.pgtypes import Catalog

# Special varnos of a Var in a finished plan (src/include/nodes/primnodes.h).
INNER_VAR = -1
OUTER_VAR = -2
INDEX_VAR = -3

# JoinType values; these four have the same numbers in every supported release. Semi and
# anti joins (4 and up) never null-extend the side they emit.
JOIN_LEFT, JOIN_FULL, JOIN_RIGHT = 1, 2, 3

# CmdType, OnConflictAction, SubLinkType, CoercionForm, AggStrategy, ParamKind values.
CMD_UPDATE, CMD_INSERT = 2, 3
ONCONFLICT_NOTHING, ONCONFLICT_UPDATE = 1, 2
EXISTS_SUBLINK, ANY_SUBLINK, EXPR_SUBLINK, ARRAY_SUBLINK = 0, 2, 4, 6
COERCE_EXPLICIT_CAST, COERCE_IMPLICIT_CAST = 1, 2
AGG_PLAIN, AGG_SORTED, AGG_HASHED = 0, 1, 2
PARAM_EXTERN, PARAM_EXEC = 0, 1
IS_NOT_NULL = 1  # NullTestType
SETOPCMD_INTERSECT, SETOPCMD_INTERSECT_ALL, SETOPCMD_EXCEPT, SETOPCMD_EXCEPT_ALL = 0, 1, 2, 3

# Window frame options (src/include/nodes/parsenodes.h, the same in 15 to 18). A frame holds
# the current row unless it starts after it, ends before it or excludes it.
FRAME_START_OFFSET_FOLLOWING = 0x02000
FRAME_START_UNBOUNDED_FOLLOWING = 0x00080
FRAME_END_OFFSET_PRECEDING = 0x01000
FRAME_END_UNBOUNDED_PRECEDING = 0x00040
FRAME_EXCLUDE_CURRENT_ROW = 0x08000
FRAME_EXCLUDE_GROUP = 0x10000
_FRAME_WITHOUT_CURRENT_ROW = (
    FRAME_START_OFFSET_FOLLOWING
    | FRAME_START_UNBOUNDED_FOLLOWING
    | FRAME_END_OFFSET_PRECEDING
    | FRAME_END_UNBOUNDED_PRECEDING
    | FRAME_EXCLUDE_CURRENT_ROW
    | FRAME_EXCLUDE_GROUP
)

# Aggregates that return a value for a non-empty set of rows (Aggregate Functions, 9.21:
# "except for count, these functions return a null value when no rows are selected"; strict
# transition functions skip NULL inputs, so a NOT NULL input makes the set non-empty):
# NOT NULL over a NOT NULL first argument in a group (never empty) or a window frame that
# holds the current row. array_agg collects NULL inputs too ("an array of the argument
# values, including nulls"): NOT NULL over any input.
_AGGREGATES_OF_NON_NULL = frozenset(
    {"max", "min", "sum", "avg", "bool_and", "bool_or", "every", "string_agg"}
)
_AGGREGATES_OF_ANYTHING = frozenset({"array_agg"})
# Window functions (9.22): ntile(n) is NULL only for a NULL n; lag/lead(value, offset,
# default) return value at the offset row or default, never NULL when all three are not;
# first_value/last_value return the value at a row of the frame (it holds the current row).
_WINDOW_ALL_ARGUMENTS = frozenset({"ntile"})
_WINDOW_THREE_ARGUMENTS = frozenset({"lag", "lead"})
_WINDOW_FRAME_VALUE = frozenset({"first_value", "last_value"})
# Set-returning functions whose rows hold no NULL: generate_series is strict (NULL
# arguments give no rows) and yields start, start + step, ... (9.26).
_SERIES = frozenset({"generate_series"})
# Functions NULL only where documented (9.4, 9.16): concat() ignores NULL arguments,
# concat_ws() is NULL only for a NULL separator, json[b]_build_object/array() build a value
# of any arguments (a NULL argument becomes JSON null). Each is NULL when called with
# VARIADIC NULL, so none is trusted with VARIADIC.
_NEVER_NULL_UNLESS_VARIADIC = frozenset(
    {"concat", "json_build_object", "jsonb_build_object", "json_build_array", "jsonb_build_array"}
)
_NULL_FOR_NULL_FIRST_ARGUMENT = frozenset({"concat_ws"})

_JOINS = frozenset({"NESTLOOP", "HASHJOIN", "MERGEJOIN"})
_UNIONS = frozenset({"APPEND", "MERGEAPPEND"})
_CASTS = frozenset({"RELABELTYPE", "COERCEVIAIO", "ARRAYCOERCEEXPR", "CONVERTROWTYPEEXPR"})
_NEVER_NULL = frozenset(
    {"NULLTEST", "BOOLEANTEST", "DISTINCTEXPR", "ARRAYEXPR", "ROWEXPR", "GROUPINGFUNC"}
)
_INDEX_CONDITIONS = {
    "INDEXSCAN": "indexqualorig",
    "BITMAPHEAPSCAN": "bitmapqualorig",
    "INDEXONLYSCAN": "indexqual",
}
_SAME_ROWS = frozenset(
    {"SORT", "INCREMENTALSORT", "MATERIAL", "MEMOIZE", "GATHER", "GATHERMERGE", "UNIQUE", "HASH"}
)


@dataclass(frozen=True, slots=True)
class PlanFacts:
    """What the plan proves about one statement."""

    nullable: tuple[bool, ...]  # per result column, in order
    nullable_params: frozenset[int]  # 1-based numbers of the parameters that may be None
    exactly_one_row: bool  # the statement always returns exactly one row (or fails)


def analyze(stmt: Node, columns: int, catalog: Catalog) -> PlanFacts:
    """Facts about a PlannedStmt whose first ``columns`` target entries are the result."""
    return _Analyzer(stmt, catalog).facts(columns)


def _result_entries(plan: Node) -> list[Node]:
    return [te for te in plan.get("targetlist") or [] if not boolean(te.get("resjunk"))]


class _Analyzer:
    def __init__(self, stmt: Node, catalog: Catalog) -> None:
        self.stmt = stmt
        self.catalog = catalog
        self.rtable: list[Node] = stmt.get("rtable") or []
        self.subplans: list[Node] = stmt.get("subplans") or []
        self.init_params: dict[int, tuple[Node, int]] = {}
        self.worktables: dict[int, Node] = {}
        for node in walk(stmt):
            if "initPlan" not in node:
                continue  # not a plan node
            for subplan in node.get("initPlan") or []:
                for index, paramid in enumerate(subplan.get("setParam") or []):
                    self.init_params[paramid] = (subplan, index)
            if node_type(node) == "RECURSIVEUNION":
                self.worktables[integer(node.get("wtParam"))] = node
        self._memo: dict[tuple[int, int], bool] = {}
        # Recursive CTEs: the nullability assumed for the work table, refined to a fixpoint.
        self._assumed: dict[int, list[bool]] = {}

    # -- result columns -------------------------------------------------------------------

    def facts(self, columns: int) -> PlanFacts:
        top: Node = self.stmt["planTree"]
        nullable = tuple(self.column(top, attno) for attno in range(1, columns + 1))
        return PlanFacts(nullable, frozenset(self.nullable_params()), self.one_row(top))

    def column(self, plan: Node, attno: int) -> bool:
        """Whether output column ``attno`` (1-based) of ``plan`` can be NULL."""
        key = (id(plan), attno)
        cached = self._memo.get(key)
        if cached is not None:
            return cached
        if node_type(plan) == "RECURSIVEUNION":
            result = self._recursive_union(plan, attno)
        else:
            entries = plan.get("targetlist") or []
            result = attno > len(entries) or self.expr(plan, entries[attno - 1]["expr"])
        self._memo[key] = result
        return result

    def _recursive_union(self, plan: Node, attno: int) -> bool:
        left, right = plan["lefttree"], plan["righttree"]
        width = len(plan.get("targetlist") or [])
        assumed = [self.column(left, k) for k in range(1, width + 1)]
        while True:
            self._assumed[id(plan)] = assumed
            self._memo.clear()  # values computed under the previous assumption
            refined = [a or self.column(right, k) for k, a in enumerate(assumed, start=1)]
            if refined == assumed:
                break
            assumed = refined
        self._assumed.pop(id(plan), None)
        return assumed[attno - 1]

    def expr(self, plan: Node, e: Any) -> bool:
        """Whether expression ``e``, evaluated at ``plan``, can be NULL."""
        kind = node_type(e)
        if kind == "VAR":
            return self.var(plan, e)
        if kind == "CONST":
            return boolean(e.get("constisnull"))
        if kind in _NEVER_NULL:
            return False
        if kind in _CASTS:
            return self.expr(plan, e.get("arg"))
        if kind == "COERCETODOMAIN":
            return self.expr(plan, e.get("arg")) and not self.catalog.domain_not_null(
                integer(e.get("resulttype"))
            )
        if kind == "FUNCEXPR":
            return self._function(plan, e)
        if kind == "OPEXPR":
            oid = integer(e.get("opfuncid"))
            return not self.catalog.non_null_over_non_null(oid) or self._any(plan, e.get("args"))
        if kind == "AGGREF":
            return self._aggregate(plan, e)
        if kind == "WINDOWFUNC":
            return self._window_function(plan, e)
        if kind == "COALESCEEXPR":
            args = e.get("args") or []
            return all(self.expr(plan, arg) for arg in args) and not self._full_join_key(plan, args)
        if kind == "MINMAXEXPR":
            return all(self.expr(plan, arg) for arg in e.get("args") or [])
        if kind == "BOOLEXPR":
            return self._any(plan, e.get("args"))
        if kind == "CASEEXPR":
            whens = e.get("args") or []
            results = [when["result"] for when in whens]
            if not self._covered(plan, [when.get("expr") for when in whens]):
                results.append(e.get("defresult"))
            return any(self.expr(plan, result) for result in results)
        if kind == "SUBPLAN":
            return self.sublink(e, 0, plan)
        if kind == "ALTERNATIVESUBPLAN":
            return self.sublink(e["subplans"][0], 0, plan)
        if kind == "PARAM" and integer(e.get("paramkind")) == PARAM_EXEC:
            found = self.init_params.get(integer(e.get("paramid")))
            return True if found is None else self.sublink(*found, plan)
        return True

    def _covered(self, plan: Node, conditions: list[Any]) -> bool:
        """Whether one of the WHEN ``conditions`` of a searched CASE is always true, so that
        its ELSE is never reached: two of them are ``c`` and its negation (``NOT c``, the
        opposite NULL test, or the negator operator, which PostgreSQL writes for
        ``NOT (a > b)``: "the negator must produce the logical negation", CREATE OPERATOR)
        and ``c`` is never NULL."""
        for i, first in enumerate(conditions):
            for second in conditions[i + 1 :]:
                for c, d in ((first, second), (second, first)):
                    if self._negation(c, d) and not self.expr(plan, c):
                        return True
        return False

    def _negation(self, c: Any, d: Any) -> bool:
        """Whether ``d`` is the logical negation of ``c`` when ``c`` is not NULL."""
        kind = node_type(d)
        if kind == "BOOLEXPR" and d.get("boolop") == "not":
            return _same(c, (d.get("args") or [None])[0])
        if kind == "NULLTEST" and node_type(c) == "NULLTEST":
            return (
                integer(c.get("nulltesttype")) != integer(d.get("nulltesttype"))
                and boolean(c.get("argisrow")) == boolean(d.get("argisrow"))
                and _same(c.get("arg"), d.get("arg"))
            )
        if kind == "OPEXPR" and node_type(c) == "OPEXPR":
            negator = self.catalog.negator(integer(c.get("opno")))
            return (
                negator != 0
                and negator == integer(d.get("opno"))
                and _same(c.get("args"), d.get("args"))
            )
        return False

    def _any(self, plan: Node, args: Any) -> bool:
        return any(self.expr(plan, arg) for arg in args or [])

    def _function(self, plan: Node, e: Node) -> bool:
        oid = integer(e.get("funcid"))
        args = e.get("args") or []
        if integer(e.get("funcformat")) in (COERCE_EXPLICIT_CAST, COERCE_IMPLICIT_CAST):
            # A cast keeps its input's nullability when it is one of PostgreSQL's own
            # (a user's cast function may return NULL), except a cast from json/jsonb: NULL
            # for a JSON null since PostgreSQL 18 (an error on 15 to 17).
            function = self.catalog.function(oid)
            if not args or not function.builtin_name or self.catalog.json_cast(oid):
                return True
            return self.expr(plan, args[0])
        name = self.catalog.function(oid).builtin_name
        variadic = boolean(e.get("funcvariadic"))
        if name in _NEVER_NULL_UNLESS_VARIADIC:
            return variadic
        if name in _NULL_FOR_NULL_FIRST_ARGUMENT:
            return variadic or not args or self.expr(plan, args[0])
        if name in _SERIES and boolean(e.get("funcretset")):
            # In a SELECT list: its own rows, unless another set-returning function there
            # makes more rows (the shorter one is padded with NULLs).
            entries = plan.get("targetlist") or []
            sets = [te for te in entries if _returns_set(te.get("expr"))]
            return node_type(plan) != "PROJECTSET" or len(sets) != 1 or sets[0]["expr"] is not e
        if self.catalog.non_null_over_non_null(oid) and not boolean(e.get("funcretset")):
            return self._any(plan, args)
        return True

    def _aggregate(self, plan: Node, e: Node) -> bool:
        oid = integer(e.get("aggfnoid"))
        if self.catalog.never_null_function(oid):
            return False
        if e.get("aggfilter") is not None or not _grouped(plan):
            # No GROUP BY (NULL over no rows), GROUPING SETS / ROLLUP / CUBE / GROUP BY ()
            # (a row for an empty set), FILTER (a group with no row passing it).
            return True
        return self._aggregate_of(plan, oid, [te.get("expr") for te in e.get("args") or []])

    def _aggregate_of(self, plan: Node, oid: int, args: list[Any]) -> bool:
        """An aggregate over a set of rows known to be non-empty."""
        name = self.catalog.function(oid).builtin_name
        if name in _AGGREGATES_OF_ANYTHING:
            return False
        if name in _AGGREGATES_OF_NON_NULL and args:
            return self.expr(plan, args[0])
        return True

    def _window_function(self, plan: Node, e: Node) -> bool:
        oid = integer(e.get("winfnoid"))
        if self.catalog.never_null_function(oid):
            return False
        args = e.get("args") or []
        name = self.catalog.function(oid).builtin_name
        if name in _WINDOW_ALL_ARGUMENTS:
            return self._any(plan, args)
        if name in _WINDOW_THREE_ARGUMENTS:
            return len(args) != 3 or self._any(plan, args)
        if not _frame_holds_current_row(plan, e):
            return True
        if name in _WINDOW_FRAME_VALUE:
            return self._any(plan, args)
        if boolean(e.get("winagg")) and e.get("aggfilter") is None:
            return self._aggregate_of(plan, oid, args)
        return True

    def _full_join_key(self, plan: Node, args: list[Any]) -> bool:
        """COALESCE(l.k, r.k) at a FULL join (the merged key of USING): every row has a side
        that is not null-extended, so it is NOT NULL when each side's own value is."""
        if node_type(plan) not in _JOINS or integer(plan.get("jointype")) != JOIN_FULL:
            return False
        sides = {OUTER_VAR: False, INNER_VAR: False}
        for arg in args:
            arg = self._strip_value_casts(arg)
            varno = integer(arg.get("varno")) if node_type(arg) == "VAR" else 0
            if varno in sides and integer(arg.get("varreturningtype")) == 0:
                child = plan["lefttree" if varno == OUTER_VAR else "righttree"]
                if not self.column(child, integer(arg.get("varattno"))):
                    sides[varno] = True
        return all(sides.values())

    def var(self, plan: Node, var: Node) -> bool:
        if integer(var.get("varreturningtype")) != 0:
            return True  # PostgreSQL 18's RETURNING old.x / new.x: absent rows are NULL
        varno, attno = integer(var.get("varno")), integer(var.get("varattno"))
        kind = node_type(plan)
        if kind == "AGG" and plan.get("groupingSets"):
            return True  # ROLLUP / CUBE / GROUPING SETS null out the columns not grouped
        if self._narrowed(plan, varno, attno):
            return False
        if kind == "SETOP":
            branches = _setop_branches(plan)
            cmd = integer(plan.get("cmd"))
            if branches and cmd in (SETOPCMD_INTERSECT, SETOPCMD_INTERSECT_ALL):
                # A row of an INTERSECT is equal (NULLs as equal) to a row of each branch.
                return all(self.column(branch, attno) for branch in branches)
            if branches and cmd in (SETOPCMD_EXCEPT, SETOPCMD_EXCEPT_ALL):
                return self.column(branches[0], attno)  # rows of the left branch
        if varno in (OUTER_VAR, INNER_VAR):
            if kind in _JOINS:
                jointype = integer(plan.get("jointype"))
                if varno == OUTER_VAR:
                    extended = jointype in (JOIN_FULL, JOIN_RIGHT)
                    return extended or self.column(plan["lefttree"], attno)
                extended = jointype in (JOIN_FULL, JOIN_LEFT)
                return extended or self.column(plan["righttree"], attno)
            if kind in _UNIONS:
                branches = plan.get("appendplans") or plan.get("mergeplans") or []
                return any(self.column(branch, attno) for branch in branches)
            child = plan.get("lefttree" if varno == OUTER_VAR else "righttree")
            return True if child is None else self.column(child, attno)
        if varno == INDEX_VAR:
            entries = plan.get("indextlist") or []
            if kind == "INDEXONLYSCAN" and 0 < attno <= len(entries):
                return self.expr(plan, entries[attno - 1]["expr"])
            return True
        if varno < 1 or attno == 0:
            return varno < 1  # ROWID_VAR and friends; a whole-row reference is never NULL
        if kind == "SUBQUERYSCAN":
            return self.column(plan["subplan"], attno)
        if kind == "CTESCAN":
            return self.column(self.subplans[integer(plan.get("ctePlanId")) - 1], attno)
        if kind == "WORKTABLESCAN":
            union = self.worktables.get(integer(plan.get("wtParam")))
            assumed = self._assumed.get(id(union)) if union is not None else None
            return True if assumed is None or attno > len(assumed) else assumed[attno - 1]
        if kind == "VALUESSCAN":
            rows = plan.get("values_lists") or []
            return any(self.expr(plan, row[attno - 1]) for row in rows)
        if kind == "FUNCTIONSCAN":
            return self._function_scan_column(plan, attno)
        rte = self.rtable[varno - 1] if varno <= len(self.rtable) else {}
        if integer(rte.get("rtekind"), -1) == 0:  # RTE_RELATION: a table's own column
            return not self.catalog.column_not_null(integer(rte.get("relid")), attno)
        return True  # function scans, table functions, tuplestores: not proven

    def _strip_value_casts(self, e: Any) -> Any:
        """``e`` without the casts that keep a value's nullability (PostgreSQL's own, not from
        json/jsonb)."""
        while True:
            kind = node_type(e)
            if kind == "RELABELTYPE":
                e = e.get("arg")
                continue
            if kind == "FUNCEXPR" and integer(e.get("funcformat")) in (
                COERCE_EXPLICIT_CAST,
                COERCE_IMPLICIT_CAST,
            ):
                oid = integer(e.get("funcid"))
                args = e.get("args") or []
                if (
                    args
                    and self.catalog.function(oid).builtin_name
                    and not self.catalog.json_cast(oid)
                ):
                    e = args[0]
                    continue
            return e

    def _function_scan_column(self, plan: Node, attno: int) -> bool:
        functions = plan.get("functions") or []
        width = sum(integer(f.get("funccolcount")) for f in functions)
        if boolean(plan.get("funcordinality")) and attno == width + 1:
            return False  # WITH ORDINALITY: the row number, never NULL
        if len(functions) != 1 or attno != 1:
            return True  # ROWS FROM (f(), g()) pads the shorter function's rows with NULLs
        call = functions[0].get("funcexpr")
        return not (
            node_type(call) == "FUNCEXPR"
            and self.catalog.function(integer(call.get("funcid"))).builtin_name in _SERIES
        )

    def _narrowed(self, plan: Node, varno: int, attno: int) -> bool:
        """Whether a top-level conjunct of the filter at ``plan`` rejects a NULL in the Var
        (``x IS NOT NULL``, or a strict function or operator of it: NULL, so not true)."""
        conjuncts = list(plan.get("qual") or [])
        # The conditions an index scan applies: on the table's columns (indexqualorig,
        # bitmapqualorig) or, for an index-only scan, on the index's (INDEX_VAR, like its
        # target list).
        conjuncts += plan.get(_INDEX_CONDITIONS.get(node_type(plan), "")) or []
        if node_type(plan) in _JOINS and integer(plan.get("jointype")) == 0:  # JOIN_INNER
            for key in ("joinqual", "hashclauses", "mergeclauses"):
                conjuncts += plan.get(key) or []
        for conjunct in conjuncts:
            if node_type(conjunct) == "NULLTEST":
                if integer(conjunct.get("nulltesttype")) != IS_NOT_NULL or boolean(
                    conjunct.get("argisrow")
                ):
                    continue
                conjunct = conjunct.get("arg")
            for var in self._null_if_null(conjunct):
                if (
                    integer(var.get("varno")) == varno
                    and integer(var.get("varattno")) == attno
                    and integer(var.get("varreturningtype")) == 0
                ):
                    return True
        return False

    def _null_if_null(self, e: Any) -> list[Node]:
        """The Vars whose NULL makes ``e`` NULL: ``e`` itself, or the arguments of a strict
        function or operator ("returns null whenever any of its arguments are null",
        CREATE FUNCTION), at any depth, through casts."""
        kind = node_type(e)
        if kind == "VAR":
            return [e]
        if kind in ("RELABELTYPE", "COERCEVIAIO"):
            return self._null_if_null(e.get("arg"))
        if kind in ("OPEXPR", "FUNCEXPR"):
            oid = integer(e.get("opfuncid" if kind == "OPEXPR" else "funcid"))
            retset = boolean(e.get("opretset" if kind == "OPEXPR" else "funcretset"))
            if self.catalog.function(oid).strict and not retset:
                return [var for arg in e.get("args") or [] for var in self._null_if_null(arg)]
        return []

    def sublink(self, subplan: Node, index: int, at: Node | None = None) -> bool:
        """Nullability of output ``index`` of a sub-select used as an expression at ``at``."""
        kind = integer(subplan.get("subLinkType"))
        if kind in (EXISTS_SUBLINK, ARRAY_SUBLINK):
            return False
        if kind == ANY_SUBLINK and boolean(subplan.get("unknownEqFalse")):
            return False  # a correlated EXISTS the planner hashed as an IN: FALSE, never NULL
        plan = self.subplans[integer(subplan.get("plan_id")) - 1]
        if kind == EXPR_SUBLINK:
            return not self.one_row(plan) or self.column(plan, index + 1)
        if kind == ANY_SUBLINK and at is not None:
            return self._in_subquery(subplan, plan, at)
        return True

    def _in_subquery(self, subplan: Node, plan: Node, at: Node) -> bool:
        """``x IN (SELECT y ...)``: TRUE on a match, else NULL if a comparison was NULL, else
        FALSE (9.24.3). A comparison that is never NULL over NOT NULL x and y: never NULL."""
        test: Node = subplan.get("testexpr") or {}
        if node_type(test) != "OPEXPR":
            return True
        if not self.catalog.non_null_over_non_null(integer(test.get("opfuncid"))):
            return True
        outputs = [integer(p) for p in subplan.get("paramIds") or []]
        for arg in test.get("args") or []:
            arg = _strip_relabel(arg)
            if node_type(arg) == "PARAM" and integer(arg.get("paramkind")) == PARAM_EXEC:
                paramid = integer(arg.get("paramid"))
                if paramid not in outputs or self.column(plan, outputs.index(paramid) + 1):
                    return True
            elif self.expr(at, arg):
                return True
        return False

    # -- row count ------------------------------------------------------------------------

    def one_row(self, plan: Node) -> bool:
        """Whether ``plan`` always yields exactly one row (when it does not fail)."""
        kind = node_type(plan)
        if kind == "RESULT":
            if plan.get("resconstantqual"):
                return False
            child = plan.get("lefttree")
            return child is None or self.one_row(child)
        if kind == "AGG":
            return integer(plan.get("aggstrategy")) == AGG_PLAIN and not plan.get("qual")
        if kind in _SAME_ROWS or (kind == "WINDOWAGG" and not plan.get("runCondition")):
            return not plan.get("qual") and self.one_row(plan["lefttree"])
        if kind == "LIMIT":  # LIMIT n (n >= 1, a constant) without OFFSET over one row
            count, offset = plan.get("limitCount"), plan.get("limitOffset")
            return (
                _positive_constant(count)
                and (offset is None or _zero_constant(offset))
                and self.one_row(plan["lefttree"])
            )
        if kind == "MODIFYTABLE":
            return self._inserts_one_row(plan)
        return False

    def _inserts_one_row(self, plan: Node) -> bool:
        """INSERT ... VALUES (one row) [ON CONFLICT DO UPDATE without WHERE] RETURNING."""
        if integer(plan.get("operation")) != CMD_INSERT:
            return False
        source = plan.get("lefttree") or {}
        if node_type(source) != "RESULT" or source.get("lefttree") or source.get("resconstantqual"):
            return False
        action = integer(plan.get("onConflictAction"))
        if action == ONCONFLICT_NOTHING or (
            action == ONCONFLICT_UPDATE and plan.get("onConflictWhere")
        ):
            return False
        relid = self._target_relid(plan)
        if relid is None:
            return False
        update = action == ONCONFLICT_UPDATE
        return not self.catalog.has_skipping_trigger(relid, insert=True, update=update)

    def _target_relid(self, plan: Node) -> int | None:
        relations = plan.get("resultRelations") or []
        if len(relations) != 1:
            return None
        rte = self.rtable[relations[0] - 1]
        return integer(rte.get("relid")) if integer(rte.get("rtekind"), -1) == 0 else None

    # -- parameters -----------------------------------------------------------------------

    def nullable_params(self) -> set[int]:
        accepting: set[int] = set()
        for node in walk(self.stmt):
            kind = node_type(node)
            if kind in ("NULLTEST", "BOOLEANTEST"):
                accepting |= _direct_params(node.get("arg"))
            elif kind in ("DISTINCTEXPR", "COALESCEEXPR"):
                for arg in node.get("args") or []:
                    accepting |= _direct_params(arg)
            elif kind == "MODIFYTABLE":
                accepting |= self._params_written_to_nullable_columns(node)
        return accepting

    def _params_written_to_nullable_columns(self, plan: Node) -> set[int]:
        relid = self._target_relid(plan)
        if relid is None:
            return set()
        writes: list[tuple[int, Any, Node]] = []  # (column number, expression, evaluated at)
        source = plan.get("lefttree") or {}
        operation = integer(plan.get("operation"))
        if operation == CMD_INSERT:
            writes += [
                (integer(te.get("resno")), te["expr"], source) for te in _result_entries(source)
            ]
        elif operation == CMD_UPDATE:
            colnos = (plan.get("updateColnosLists") or [[]])[0]
            entries = _result_entries(source)
            writes += [
                (colno, te["expr"], source) for colno, te in zip(colnos, entries, strict=False)
            ]
        conflict_set = plan.get("onConflictSet") or []
        conflict_cols = plan.get("onConflictCols") or []
        writes += [
            (col, te["expr"], plan) for col, te in zip(conflict_cols, conflict_set, strict=False)
        ]
        accepting: set[int] = set()
        for attno, expression, at in writes:
            if not self.catalog.column_not_null(relid, attno):
                accepting |= self._forwarded_params(at, expression)
        return accepting

    def _forwarded_params(self, plan: Node, e: Any) -> set[int]:
        """Parameters whose value ``e`` passes on unchanged (through casts and child plans)."""
        e = _strip_casts(e)
        kind = node_type(e)
        if kind == "PARAM":
            return _direct_params(e)
        if kind == "CASEEXPR":  # SET col = CASE WHEN :set_col THEN :col ELSE col END
            found_in_results: set[int] = set()
            for result in [w.get("result") for w in e.get("args") or []] + [e.get("defresult")]:
                found_in_results |= self._forwarded_params(plan, result)
            return found_in_results
        if kind != "VAR":
            return set()
        varno, attno = integer(e.get("varno")), integer(e.get("varattno"))
        if varno == OUTER_VAR and plan.get("lefttree"):
            child = plan["lefttree"]
            entries = child.get("targetlist") or []
            return (
                self._forwarded_params(child, entries[attno - 1]["expr"])
                if attno <= len(entries)
                else set()
            )
        if node_type(plan) == "VALUESSCAN" and varno > 0:
            found: set[int] = set()
            for row in plan.get("values_lists") or []:
                found |= self._forwarded_params(plan, row[attno - 1])
            return found
        return set()


def _same(a: Any, b: Any) -> bool:
    """The same expression (the parse locations aside)."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = (a.keys() | b.keys()) - {"location"}
        return all(_same(a.get(key), b.get(key)) for key in keys)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _returns_set(e: Any) -> bool:
    return node_type(e) in ("FUNCEXPR", "OPEXPR") and boolean(
        e.get("funcretset") or e.get("opretset")
    )


def _grouped(plan: Node) -> bool:
    """An Agg node with GROUP BY keys (every group it emits has at least one row)."""
    return (
        node_type(plan) == "AGG"
        and integer(plan.get("aggstrategy")) in (AGG_SORTED, AGG_HASHED)
        and integer(plan.get("numCols")) > 0
        and not plan.get("groupingSets")
    )


def _frame_holds_current_row(plan: Node, e: Node) -> bool:
    if node_type(plan) != "WINDOWAGG" or integer(plan.get("winref")) != integer(e.get("winref")):
        return False
    return not integer(plan.get("frameOptions")) & _FRAME_WITHOUT_CURRENT_ROW


def _setop_branches(plan: Node) -> list[Node]:
    """The inputs of a SetOp: its two children on 18, the branches of its Append before."""
    if plan.get("righttree"):
        return [plan["lefttree"], plan["righttree"]]
    child: Node = plan.get("lefttree") or {}
    while node_type(child) in _SAME_ROWS:
        child = child.get("lefttree") or {}
    if node_type(child) in _UNIONS:
        return list(child.get("appendplans") or child.get("mergeplans") or [])
    return []


def _datum_bytes(const: Any) -> list[int] | None:
    """The bytes of a by-value Const's datum (``8 [ 1 0 0 ... ]``), None when NULL or other."""
    if node_type(const) != "CONST" or boolean(const.get("constisnull")):
        return None
    value = const.get("constvalue")
    if not isinstance(value, list) or "[" not in value or "]" not in value:
        return None
    return [int(b) for b in value[value.index("[") + 1 : value.index("]")]]


def _positive_constant(const: Any) -> bool:
    """A non-NULL constant integer other than 0 (a negative LIMIT is an error, not a row)."""
    data = _datum_bytes(const)
    return data is not None and any(data)


def _zero_constant(const: Any) -> bool:
    data = _datum_bytes(const)
    return data is not None and not any(data)


def _strip_relabel(e: Any) -> Any:
    while node_type(e) == "RELABELTYPE":
        e = e.get("arg")
    return e


def _strip_casts(e: Any) -> Any:
    while True:
        kind = node_type(e)
        if kind in _CASTS or kind == "COERCETODOMAIN":
            e = e.get("arg")
        elif kind == "FUNCEXPR" and integer(e.get("funcformat")) in (
            COERCE_EXPLICIT_CAST,
            COERCE_IMPLICIT_CAST,
        ):
            args = e.get("args") or []
            if not args:
                return e
            e = args[0]
        else:
            return e


def _direct_params(e: Any) -> set[int]:
    e = _strip_casts(e)
    if node_type(e) == "PARAM" and integer(e.get("paramkind")) == PARAM_EXTERN:
        return {integer(e.get("paramid"))}
    return set()
