"""Who uses an image or a volume, and the prune plans (issue 16): pure, no engine.

The engine tests (tests/engine/test_storage_guard.py) make these situations for real; here a
property states the rule over any mix: nothing a protected container uses or names is ever
planned, and every candidate lands in exactly one place.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from carina_tui.core.models import ContainerInfo
from carina_tui.core.planner import ContainerFilter, plan_prune
from carina_tui.core.rules import DEFAULT_RULES
from carina_tui.core.storage_models import Image, Volume, names_image, with_users

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64


def image(iid=A, tags=(), endpoint="e1", **more) -> Image:
    return Image(id=iid, tags=tuple(tags), endpoint=endpoint, node=endpoint, **more)


def container(name, image_ref="busybox", image_id="", endpoint="e1", state="exited", refs=(), mounts=(),
              labels=()) -> ContainerInfo:
    return ContainerInfo(id=name * 4, name=name, state=state, image=image_ref, endpoint=endpoint, node=endpoint,
                         image_id=image_id, image_refs=tuple(refs), mounts=tuple(mounts), labels=tuple(labels))


def test_names_image_by_id_short_id_tag_and_docker_hub_spelling():
    img = image(tags=("busybox:latest", "mirror:5000/carina/consul:1"))
    for ref in (A, "a" * 64, "aaaa", "busybox", "busybox:latest", "docker.io/library/busybox:latest",
                "mirror:5000/carina/consul:1"):
        assert names_image(ref, img), ref
    for ref in ("", "aaa", "b" * 12, "busybox:1", "carina/consul:1", "mirror:5000/carina/consul"):
        assert not names_image(ref, img), ref


def test_a_protected_container_on_another_node_keeps_an_image_it_names():
    here = image(tags=("carina/consul:latest",), endpoint="e1")
    agent = container("carina-svcd", "carina/consul:latest", image_id=B, endpoint="e2", state="exited")
    (found,) = with_users([here], [agent], DEFAULT_RULES)
    assert found.users == () and found.protected_by == agent and found.rule.value == "carina-svcd"
    plan = plan_prune("images", [found])
    assert plan.to_remove == () and [k.item for k in plan.protected_kept] == [found]


def test_users_are_the_containers_of_its_own_engine():
    on_e1, on_e2 = image(endpoint="e1"), image(endpoint="e2")
    web = container("web", image_id=A, endpoint="e1")
    rows = {i.endpoint: i for i in with_users([on_e1, on_e2], [web], DEFAULT_RULES)}
    assert rows["e1"].users == (web,) and rows["e2"].users == () and rows["e2"].protected_by is None
    plan = plan_prune("images", rows.values())
    assert plan.to_remove == (rows["e2"],)


def test_volumes_used_by_a_protected_container_are_kept_and_the_filter_hides_the_rest():
    data, spare, other = (Volume(n, endpoint="e1", node="e1", labels=lab) for n, lab in
                          (("data", ()), ("spare", (("k", "v"),)), ("other", ())))
    agent = container("carina-svcd", mounts=("data",))
    rows = with_users([data, spare, other], [agent], DEFAULT_RULES)
    plan = plan_prune("volumes", rows, ContainerFilter(labels=(("k", "v"),)))
    assert [v.name for v in plan.to_remove] == ["spare"] and plan.hidden_by_filter == 1
    assert [(k.item.name, k.container.name) for k in plan.protected_kept] == [("data", "carina-svcd")]


def test_dangling_only():
    rows = [image(A, ()), image(B, ("x:1",))]
    plan = plan_prune("images", rows, dangling_only=True)
    assert [i.id for i in plan.to_remove] == [A] and plan.hidden_by_filter == 1 and plan.dangling_only


def test_a_dangling_only_plan_keeps_only_dangling_protected_images_in_view():
    """P listed carina/consul:latest (named, not dangling) under "Protected and kept" (QA, minor)."""
    C = "sha256:" + "c" * 64
    agent = container("carina-svcd", "carina/consul:latest", image_id=B, state="running")
    old = container("keeper", C, image_id=C, state="exited", labels=(("carina.protected", "true"),))
    rows = with_users([image(A, ()), image(B, ("carina/consul:latest",)), image(C, ())], [agent, old],
                      DEFAULT_RULES)
    plan = plan_prune("images", rows, dangling_only=True)
    assert [i.id for i in plan.to_remove] == [A]
    assert [k.item.id for k in plan.protected_kept] == [C], "a dangling protected one is shown kept; a named one not"
    full = plan_prune("images", rows)
    assert sorted(k.item.id for k in full.protected_kept) == [B, C]


IDS = st.sampled_from([A, B, "sha256:" + "c" * 64])
TAGS = st.sampled_from(["busybox:latest", "carina/consul:latest", "x:1", "y:2"])


@st.composite
def worlds(draw):
    images = [image(draw(IDS), draw(st.lists(TAGS, max_size=2, unique=True)), draw(st.sampled_from(["e1", "e2"])))
              for _ in range(draw(st.integers(0, 6)))]
    containers = []
    for n in range(draw(st.integers(0, 6))):
        ref = draw(st.one_of(TAGS, IDS, IDS.map(lambda i: i[7:19])))
        labels = (("carina.protected", "true"),) if draw(st.booleans()) else ()
        containers.append(container(f"c{n}", ref, image_id=draw(IDS), endpoint=draw(st.sampled_from(["e1", "e2"])),
                                    state=draw(st.sampled_from(["running", "exited", "created"])), labels=labels,
                                    refs=draw(st.lists(TAGS, max_size=2))))
    return images, containers


@given(worlds(), st.booleans())
def test_property_nothing_a_protected_container_uses_or_names_is_planned(world, dangling_only):
    images, containers = world
    rows = with_users(images, containers, DEFAULT_RULES)
    plan = plan_prune("images", rows, dangling_only=dangling_only)
    protected = [c for c in containers if c.labels or c.name == "carina-svcd" or any(
        "carina/consul" in r for r in c.image_names)]
    for planned in plan.to_remove:
        assert not any(c.image_id == planned.id or any(names_image(r, planned) for r in c.image_names)
                       for c in protected), planned
        assert not any(c.endpoint == planned.endpoint and c.image_id == planned.id for c in containers)
    keys = [i.key for i in plan.to_remove] + [k.item.key for k in plan.protected_kept]
    assert len(keys) == len(set(keys))
