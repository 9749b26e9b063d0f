"""``carina-tui cleanup``: remove stopped containers headless, for cron and scripts.

The same planner (``carina_tui.core.planner``) and guard as the console's ``x``:
protected containers are never planned, and every planned one is re-checked by
the guard just before it is removed. ``--images`` (``--images dangling``) and
``--volumes`` plan the unused images or volumes instead, the same way (the
console's ``p`` on the Images and Volumes panes): one a protected container uses is
never planned, and one a container uses by the time its turn comes is skipped. Without ``--yes`` or ``--dry-run`` it asks
on the terminal; with no terminal it refuses rather than guess.

``--json`` prints one object: ``planned``, ``protected``, ``removed``,
``skipped``, ``failed`` (lists of objects with ``id`` and ``name``, plus
``rule`` or ``reason``), ``hidden_by_filter`` (a count) and ``task_history``:
the exited task containers Swarm keeps as its services' task history, kept
unless ``--include-task-history`` (a task container, wherever it is listed,
also has ``service`` and ``task``). Images and volumes carry their own fields
(``storage_command.stored_item``) in the same shape.

Exit status: 0 when nothing failed (also for a dry run, an empty plan, or an
answer of no); 1 when a removal failed, the engine could not be reached, or the
cluster is read-only and there was something to remove; 2 for bad input or
when it would have to ask and cannot.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from carina_tui.commands.storage_command import container_ref, stored_item
from carina_tui.services.runner import CleanupResult, execute
from carina_tui.core.models import ContainerInfo
from carina_tui.core.planner import CANDIDATES, NOUN, ContainerFilter, Plan, parse_label, plan_cleanup, plan_prune
from carina_tui.core.storage_models import size_text
from carina_tui.core.durations import parse_duration
from carina_tui.core.errors import EngineUnreachable, ValidationError
from carina_tui.core.swarm_nodes import SERVICE_LABEL, task_of
from carina_tui.guard import Outcome


def _filter(args: argparse.Namespace) -> ContainerFilter:
    given = getattr(args, "until", None)
    until = parse_duration(given) if given is not None else None  # "" is a mistake, not "no filter"
    labels = tuple(parse_label(text) for text in getattr(args, "label", None) or ())
    return ContainerFilter(labels=labels, until=until)


def _item(c, **more) -> dict:
    if not isinstance(c, ContainerInfo):
        return stored_item(c, **more)
    out = {"id": c.id, "name": c.name, "node": c.node, "state": c.state, "image": c.image}
    if task_of(c):
        out.update(service=c.label_map.get(SERVICE_LABEL, ""), task=task_of(c))
    out.update(more)
    return out


def _kept(k) -> dict:
    if k.item is None:
        return _item(k.container, rule=k.rule.describe())
    return _item(k.item, rule=k.rule.describe(), used_by=container_ref(k.container))


def _line(item) -> str:
    if isinstance(item, ContainerInfo):
        return f"{item.qualified_name:40}  {item.state:8}  {item.image}"
    return f"{item.qualified_name:40}  {size_text(item.size)}"


def _outcome(o: Outcome) -> dict:
    out = {"id": o.id, "name": o.plain_name, "node": o.node}
    if o.reason:
        out["reason"] = o.reason
    return out


def report(plan: Plan, result: CleanupResult | None) -> dict:
    """The one JSON object ``--json`` prints."""
    result = result or CleanupResult()
    history = {"task_history": [_item(c) for c in plan.task_history]} if plan.kind == "containers" else {}
    return {
        "planned": [_item(c) for c in plan.to_remove],
        "protected": [_kept(k) for k in plan.protected_kept],
        "hidden_by_filter": plan.hidden_by_filter,
        **history,  # Swarm's task history is a matter of containers only
        "removed": [_outcome(o) for o in result.removed],
        "skipped": [_outcome(o) for o in result.skipped],
        "failed": [_outcome(o) for o in result.failed],
    }


def print_plan(plan: Plan, out: TextIO) -> None:
    print(f"To remove ({plan.count}):", file=out)
    for c in plan.to_remove:
        print(f"  {c.short_id}  {_line(c)}", file=out)
    print(f"Protected and kept ({len(plan.protected_kept)}):", file=out)
    for k in plan.protected_kept:
        used = f"  used by {k.container.qualified_name}" if k.item is not None else ""
        print(f"  {k.target.short_id}  {k.target.qualified_name:40}  {k.rule.describe()}{used}", file=out)
    if plan.kind == "containers":  # Swarm's task history is a matter of containers only
        print(f"Swarm task history, kept ({len(plan.task_history)}):", file=out)
        for c in plan.task_history:
            print(f"  {c.short_id}  {c.qualified_name:40}  service {c.label_map.get(SERVICE_LABEL, '')}", file=out)
        if plan.task_history:
            print("  (Swarm keeps these as its services' task history; --include-task-history removes them too.)",
                  file=out)
    print(f"Hidden by the filter: {plan.hidden_by_filter} {CANDIDATES[plan.kind]}, not touched.", file=out)


def print_result(result: CleanupResult, out: TextIO) -> None:
    unaudited = [o for o in result.removed if o.reason]
    for title, items in (("Removed, but not audited", unaudited), ("Skipped", result.skipped),
                         ("Failed", result.failed)):
        if items:
            print(f"{title} ({len(items)}):", file=out)
            for o in items:
                print(f"  {o.id[:12]}  {o.name}: {o.reason}", file=out)
    print(result.summary(), file=out)


def ask(question: str, stdin: TextIO, stderr: TextIO) -> bool:
    stderr.write(f"{question} [y/N] ")
    stderr.flush()
    answer = stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def run(args: argparse.Namespace, *, stdin: TextIO | None = None, stdout: TextIO | None = None,
        stderr: TextIO | None = None) -> int:
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    try:
        flt = _filter(args)
    except ValidationError as err:
        print(f"carina-tui: {err}", file=stderr)
        return 2
    dry_run, yes, as_json = bool(args.dry_run), bool(args.yes), bool(getattr(args, "json", False))
    interactive = stdin is not None and stdin.isatty()
    if not (dry_run or yes or interactive):
        print("carina-tui: cleanup asks before it removes anything, and there is no terminal to ask on; "
              "add --yes to remove without asking, or --dry-run to only see the plan.", file=stderr)
        return 2

    from carina_tui.services.targets import open_session

    session, _config = open_session(args)
    try:
        return _run(session, flt, args, dry_run=dry_run, yes=yes, as_json=as_json,
                    stdin=stdin, stdout=stdout, stderr=stderr)
    finally:
        session.close()


def _run(session, flt, args, *, dry_run, yes, as_json, stdin, stdout, stderr) -> int:
    snapshot = session.snapshot()
    if not any(e.reachable for e in snapshot.engines):
        raise EngineUnreachable(snapshot.errors[0] if snapshot.errors else
                                f"No engine of cluster {session.spec.name} answers.")
    kind = "images" if getattr(args, "images", None) else "volumes" if getattr(args, "volumes", False) else "containers"
    for error in snapshot.errors:
        print(f"carina-tui: {error} Its {kind} are not part of this cleanup.", file=stderr)
    guard = session.guard
    if kind == "containers":
        plan = plan_cleanup(snapshot.containers, guard.rules, flt,
                            include_task_history=bool(getattr(args, "include_task_history", False)))
        errors = snapshot.errors
    else:
        from carina_tui.services.storage import list_images, list_volumes

        listed = (list_images if kind == "images" else list_volumes)(session, snapshot.containers)
        for error in listed.errors:
            if error not in snapshot.errors:
                print(f"carina-tui: {error} Its {kind} are not part of this cleanup.", file=stderr)
        errors = tuple(dict.fromkeys(snapshot.errors + listed.errors))
        plan = plan_prune(kind, listed.items, flt, dangling_only=args.images == "dangling")
    human = stderr if as_json else stdout

    if not as_json or not (dry_run or yes):
        print_plan(plan, human)
    if dry_run or not plan.to_remove:
        if not plan.to_remove and not as_json:
            print("Nothing to remove.", file=human)
        if as_json:
            print(json.dumps(report(plan, None), indent=2), file=stdout)
        return 1 if errors else 0
    if guard.read_only:
        print(f"carina-tui: {guard.would_refuse('container.remove')}", file=stderr)
    elif not yes and not ask(f"Remove these {plan.count} {NOUN[kind]}s?", stdin, stderr):
        print("Nothing was removed.", file=human)
        if as_json:
            print(json.dumps(report(plan, None), indent=2), file=stdout)
        return 0

    def progress(done: int, total: int, outcome: Outcome) -> None:
        stderr.write(f"\rremoving: {done}/{total}")
        if done == total:
            stderr.write("\n")
        stderr.flush()

    result = execute(guard, plan.to_remove, volumes=bool(getattr(args, "anonymous_volumes", False)),
                     progress=progress if not as_json and stderr.isatty() else None, kept=plan.protected_kept)
    if as_json:
        print(json.dumps(report(plan, result), indent=2), file=stdout)
    else:
        print_result(result, human)
    if guard.read_only or not result.ok or errors:
        return 1
    return 0
