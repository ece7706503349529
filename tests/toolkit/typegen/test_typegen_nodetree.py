"""Reading the server's node-tree text: PostgreSQL 15's and 18's spellings of a plan read alike."""

from __future__ import annotations

import pytest

from plainsql.errors import NodeTreeError
from plainsql.typegen.nodetree import boolean, integer, node_type, parse, walk

PG15 = """{SEQSCAN :startup_cost 0.00 :targetlist ({TARGETENTRY :expr {VAR :varno 1
:varattno 2 :vartype 25} :resno 1 :resname title :resjunk false}) :qual <> :lefttree <>
:partColIdx  :partOperators  :extParam (b) :allParam (b 3 4) :scanrelid 1}"""

PG18 = """{SEQSCAN :scan.plan.startup_cost 0 :scan.plan.targetlist ({TARGETENTRY :expr
{VAR :varno 1 :varattno 2 :vartype 25 :varnullingrels (b)} :resno 1 :resname title
:resjunk false}) :scan.plan.qual <> :scan.plan.lefttree <> :partColIdx ()
:partOperators () :scan.plan.extParam (b) :scan.plan.allParam (b 3 4) :scan.scanrelid 1}"""


@pytest.mark.parametrize("text", [PG15, PG18], ids=["pg15", "pg18"])
def test_both_spellings_read_the_same(text: str) -> None:
    node = parse(text)
    assert node_type(node) == "SEQSCAN"
    assert integer(node["scanrelid"]) == 1
    assert node["qual"] is None
    assert node["lefttree"] is None
    assert node["allParam"] == [3, 4]
    (entry,) = node["targetlist"]
    assert entry["resname"] == "title"
    assert not boolean(entry["resjunk"])
    assert (integer(entry["expr"]["varno"]), integer(entry["expr"]["varattno"])) == (1, 2)


def test_escapes_strings_lists_and_datums() -> None:
    node = parse(
        '{RTE :eref {ALIAS :aliasname my\\ table :colnames ("id" "a\\ b")}'
        " :constvalue 4 [ 1 0 0 0 ] :constisnull false :relids (i 1 2) :name \\<odd}"
    )
    assert node["eref"]["aliasname"] == "my table"
    assert node["eref"]["colnames"] == ["id", "a b"]
    assert node["constvalue"] == ["4", "[", "1", "0", "0", "0", "]"]
    assert node["relids"] == [1, 2]
    assert node["name"] == "<odd"


def test_a_truncated_tree_is_an_error() -> None:
    with pytest.raises(NodeTreeError):
        parse("{SEQSCAN :targetlist ({TARGETENTRY :resno 1}")


def test_walk_reaches_every_node_of_a_plan_once() -> None:
    node = parse(PG18)
    assert sorted(node_type(n) for n in walk(node)) == ["SEQSCAN", "TARGETENTRY", "VAR"]
    assert [node_type(n) for n in walk([node, "1", None])] == ["SEQSCAN", "TARGETENTRY", "VAR"]
