"""JobRegistry: ids count up per kind, only the newest job of a kind is current, running jobs are held."""

from mixingbuddy_app.jobs import JobKind, JobRegistry


def test_ids_per_kind_and_the_newest_is_current():
    jobs = JobRegistry()
    first = jobs.start(JobKind.LOAD, lambda i: ("load", i))
    overview = jobs.start(JobKind.OVERVIEW, lambda i: ("overview", i))
    second = jobs.start(JobKind.LOAD, lambda i: ("load", i))
    assert (first, overview, second) == (("load", 1), ("overview", 1), ("load", 2))
    assert jobs.latest(JobKind.LOAD) == 2 and jobs.latest(JobKind.MEASURE) == 0
    assert jobs.running(JobKind.LOAD) == 1
    assert jobs.finish(JobKind.LOAD, 1) is False          # superseded by job 2
    assert jobs.running(JobKind.LOAD) == 2
    assert jobs.finish(JobKind.LOAD, 2) is True
    assert jobs.running(JobKind.LOAD) is None and jobs.running(JobKind.OVERVIEW) == 1
