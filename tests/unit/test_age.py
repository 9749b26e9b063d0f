"""Ages as the panes show them: seconds only where nothing redraws them later."""

from carina_tui.core.models import age
from carina_tui.core.swarm_models import ServiceInfo


def test_age_in_its_largest_unit():
    assert [age(1000 - s, 1000) for s in (0, 45, 60, 3599, 3600, 86400 * 9)] == ["0s", "45s", "1m", "59m", "1h", "9d"]


def test_a_pane_that_redraws_once_a_minute_says_under_a_minute_not_seconds():
    assert [age(1000 - s, 1000, coarse=True) for s in (0, 59, 60, 7200)] == ["<1m", "<1m", "1m", "2h"]


def test_a_services_last_update_is_coarse_in_the_pane():
    service = ServiceInfo(id="s1", name="web", mode="replicated", image="busybox", created=900.0, updated=900.0)
    assert service.update_text(1000.0) == "created 1m"
    assert service.update_text(930.0, coarse=True) == "created <1m"
    assert service.update_text(930.0) == "created 30s"
