"""The cleanup planner (pure): properties over random containers, rules and filters, and
the filter language and durations it reads."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carina_tui.core.planner import ContainerFilter, parse_filter, plan_cleanup
from carina_tui.core.durations import format_duration, parse_duration
from carina_tui.core.errors import ValidationError
from carina_tui.core.models import STOPPED_STATES, ContainerInfo
from carina_tui.core.rules import DEFAULT_RULES, Rule, matching_rule
from carina_tui.core.swarm_nodes import TASK_LABEL, task_of

NOW = 1_800_000_000.0
STATES = ("running", "exited", "created", "dead", "paused", "restarting", "removing")
NAMES = ("carina-svcd", "carina-svcd-backup", "web", "db", "job-1", "job-2", "svcd", "Carina-Svcd")
NODES = ("", "n1", "n2")
IMAGES = ("busybox:latest", "carina/consul:latest", "carina/consulting", "mirror:5000/carina/consul:1.2",
          "docker.io/library/nginx", "app/web:2")
LABEL_KEYS = ("carina.protected", "app", "tier", TASK_LABEL)
LABEL_VALUES = ("true", "TRUE", "false", "web", "")

labels = st.dictionaries(st.sampled_from(LABEL_KEYS), st.sampled_from(LABEL_VALUES), max_size=3)


@st.composite
def containers(draw):
    n = draw(st.integers(0, 25))
    out = []
    for i in range(n):
        out.append(ContainerInfo(
            id=f"{i:064x}",
            name=draw(st.sampled_from(NAMES)),
            state=draw(st.sampled_from(STATES)),
            image=draw(st.sampled_from(IMAGES)),
            endpoint=draw(st.sampled_from(("unix:///a.sock", "tcp://b:2376"))),
            node=draw(st.sampled_from(NODES)),
            created=NOW - draw(st.integers(0, 30 * 86400)),
            labels=tuple(sorted(draw(labels).items())),
        ))
    # duplicates of the same row (same endpoint and id) must be planned once
    if out and draw(st.booleans()):
        out.append(out[0])
    return out


rule = st.one_of(
    st.builds(Rule, st.just("name"), st.sampled_from(NAMES)),
    st.builds(Rule, st.just("name_pattern"), st.sampled_from(("carina-*", "job-?", "*", "db"))),
    st.builds(Rule, st.just("image"), st.sampled_from(("carina/consul", "app/web", "nginx"))),
    st.builds(Rule, st.just("label"), st.sampled_from(("carina.protected=true", "tier=web", "app="))),
)
rules = st.one_of(st.just(DEFAULT_RULES), st.lists(rule, max_size=4).map(tuple),
                  st.lists(rule, max_size=3).map(lambda more: DEFAULT_RULES + tuple(more)))

filters = st.builds(
    ContainerFilter,
    nodes=st.lists(st.sampled_from(NODES), max_size=2).map(tuple),
    names=st.lists(st.sampled_from(("job", "job-*", "svcd", "web")), max_size=1).map(tuple),
    labels=st.lists(st.tuples(st.sampled_from(LABEL_KEYS), st.sampled_from((None, "web", "true"))),
                    max_size=1).map(tuple),
    until=st.one_of(st.none(), st.integers(0, 20 * 86400)),
    words=st.lists(st.sampled_from(("exited", "busybox", "n1", "carina")), max_size=1).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(cs=containers(), rs=rules, flt=filters, history=st.booleans())
def test_plan_never_holds_a_protected_container_and_holds_every_unprotected_stopped_one_shown(cs, rs, flt, history):
    plan = plan_cleanup(cs, rs, flt, now=NOW, include_task_history=history)
    planned = {c.key for c in plan.to_remove}
    for c in plan.to_remove:
        assert matching_rule(c, rs) is None, c
        assert c.stopped
        assert history or not task_of(c), c  # Swarm's task history only when asked for
    for c in cs:
        if c.stopped and flt.shows(c, NOW) and matching_rule(c, rs) is None and (history or not task_of(c)):
            assert c.key in planned, c
    for kept in plan.protected_kept:
        assert kept.rule == matching_rule(kept.container, rs)
    for c in plan.task_history:
        assert task_of(c) and matching_rule(c, rs) is None and not history
    # every stopped container lands in exactly one of the four places
    stopped = {c.key for c in cs if c.state in STOPPED_STATES}
    assert len(plan.to_remove) + len(plan.protected_kept) + len(plan.task_history) + plan.hidden_by_filter \
        == len(stopped)
    assert len(planned) == len(plan.to_remove)


@settings(max_examples=100, deadline=None)
@given(cs=containers(), rs=rules, flt=filters, hide=st.sampled_from(NAMES))
def test_a_screens_own_filter_only_narrows_the_plan(cs, rs, flt, hide):
    wide = plan_cleanup(cs, rs, flt, now=NOW)
    narrow = plan_cleanup(cs, rs, flt, now=NOW, shows=lambda c: c.name != hide)
    assert {c.key for c in narrow.to_remove} <= {c.key for c in wide.to_remove}
    assert all(c.name != hide for c in narrow.to_remove)
    assert narrow.hidden_by_filter >= wide.hidden_by_filter


def _c(name, state="exited", image="busybox:latest", node="", created=NOW - 3600, **labels):
    return ContainerInfo(id=f"id-{name}-{node}", name=name, state=state, image=image, node=node,
                         created=created, labels=tuple(sorted(labels.items())))


def test_a_stopped_consul_agent_is_protected_and_kept_with_its_rule():
    agent = _c("carina-svcd", image="carina/consul:latest")
    lookalike = _c("carina-svcd-backup", image="carina/consulting")
    running = _c("web", state="running")
    plan = plan_cleanup([agent, lookalike, running, _c("job", state="created"), _c("old", state="dead")],
                        DEFAULT_RULES, now=NOW)
    assert [k.container.name for k in plan.protected_kept] == ["carina-svcd"]
    assert plan.protected_kept[0].rule == Rule("name", "carina-svcd")
    assert [c.name for c in plan.to_remove] == ["carina-svcd-backup", "job", "old"]
    assert plan.hidden_by_filter == 0


def test_filter_language_node_name_label_until_and_words():
    flt = parse_filter("node=n1 name=job-* label=app=web label=tier until=2h busy")
    assert flt == ContainerFilter(("n1",), ("job-*",), (("app", "web"), ("tier", None)), 7200, ("busy",))
    old = _c("job-1", node="n1", created=NOW - 3 * 3600, app="web", tier="x")
    assert flt.shows(old, NOW)
    assert not flt.shows(_c("job-1", node="n1", created=NOW - 3600, app="web", tier="x"), NOW)  # too young
    assert not flt.shows(_c("job-1", node="n2", created=NOW - 3 * 3600, app="web", tier="x"), NOW)
    assert not flt.shows(_c("job-1", node="n1", created=NOW - 3 * 3600, app="db", tier="x"), NOW)
    assert not flt.shows(_c("job-1", node="n1", created=NOW - 3 * 3600, app="web"), NOW)
    assert parse_filter("") .empty


@pytest.mark.parametrize("text", ["until=", "until=soon", "label==x", "until=2x"])
def test_bad_filters_are_a_sentence(text):
    with pytest.raises(ValidationError) as err:
        parse_filter(text)
    assert err.value.sentence.endswith(".")
    assert "Traceback" not in err.value.sentence


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("10m", 600), ("2h", 7200), ("7d", 604800),
                                           ("1w", 604800), ("1h30m", 5400), (" 2H ", 7200)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "m", "-5m", "1.5h", "2 h", "1y", "10mh"])
def test_bad_durations_name_the_option_and_show_examples(text):
    with pytest.raises(ValidationError) as err:
        parse_duration(text)
    assert err.value.sentence.startswith("--until takes a duration such as 90s, 10m")


@pytest.mark.parametrize("text", ["9" * 5000 + "s", "1" * 13 + "s", "5300w", "36501d", "until=" + "9" * 4400 + "d"])
def test_a_duration_too_long_to_mean_anything_is_a_short_sentence(text):
    with pytest.raises(ValidationError) as err:
        parse_filter(text) if text.startswith("until=") else parse_duration(text)
    assert "is longer than a hundred years; give a duration such as 7d." in err.value.sentence
    assert len(err.value.sentence) < 200
    assert parse_duration("0" * 5000 + "1s") == 1 and parse_duration("36500d") == 36500 * 86400


@given(st.integers(0, 10 * 365 * 86400))
def test_format_duration_round_trips(seconds):
    assert parse_duration(format_duration(seconds)) == seconds


def test_swarm_task_history_is_kept_unless_asked_for_and_a_protected_task_stays_protected():
    task = {TASK_LABEL: "t1", "com.docker.swarm.service.name": "web"}
    old_task = _c("web.1.t1", **task)
    protected_task = _c("agent.1.t2", **{TASK_LABEL: "t2", "carina.protected": "true"})
    plain = _c("job")
    kept = plan_cleanup([old_task, protected_task, plain], DEFAULT_RULES, now=NOW)
    assert [c.name for c in kept.to_remove] == ["job"]
    assert [c.name for c in kept.task_history] == ["web.1.t1"]
    assert [k.container.name for k in kept.protected_kept] == ["agent.1.t2"]
    assert not kept.include_task_history
    included = plan_cleanup([old_task, protected_task, plain], DEFAULT_RULES, now=NOW, include_task_history=True)
    assert [c.name for c in included.to_remove] == ["job", "web.1.t1"]
    assert included.task_history == () and included.include_task_history
    assert [k.container.name for k in included.protected_kept] == ["agent.1.t2"]
