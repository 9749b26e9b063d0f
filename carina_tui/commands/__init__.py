"""Headless commands (no Textual): cleanup, clusters, status, services, images, volumes; and serve (the
console, served). Each returns an exit status.

The runners here are named run_*: a function named like its submodule (``cleanup_command``)
would be replaced by that module as soon as the module is imported."""

from __future__ import annotations


def run_cleanup(args) -> int:
    from carina_tui.commands.cleanup_command import run

    return run(args)


def run_clusters(args) -> int:
    from carina_tui.commands.clusters_command import run_clusters

    return run_clusters(args)


def run_status(args) -> int:
    from carina_tui.commands.clusters_command import run_status

    return run_status(args)


def run_services(args) -> int:
    from carina_tui.commands.services_command import run_services

    return run_services(args)


def run_images(args) -> int:
    from carina_tui.commands.storage_command import run_images

    return run_images(args)


def run_volumes(args) -> int:
    from carina_tui.commands.storage_command import run_volumes

    return run_volumes(args)


def run_serve(args) -> int:
    from carina_tui.commands.serve_command import run_serve

    return run_serve(args)
