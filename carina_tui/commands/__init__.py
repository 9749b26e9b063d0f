"""Headless commands (no Textual): cleanup, clusters, status. Each returns an exit status."""

from __future__ import annotations


def cleanup_command(args) -> int:
    from carina_tui.commands.cleanup_command import run

    return run(args)


def clusters_command(args) -> int:
    from carina_tui.commands.clusters_command import run_clusters

    return run_clusters(args)


def status_command(args) -> int:
    from carina_tui.commands.clusters_command import run_status

    return run_status(args)
