"""Services: what the console and the headless commands share, between the UI and the gateways.

session (one cluster: its engines, the guard, snapshots and event following), targets (from
options and config to a session), runner (executes a cleanup plan through the guard), system_report
(what the Consul agents say). No Textual here.
"""
