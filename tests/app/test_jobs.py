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


class _Job:
    def __init__(self, job_id):
        self.job_id, self.cancelled = job_id, False

    def cancel(self):
        self.cancelled = True


def test_an_abandoned_job_is_cancelled_and_its_late_result_is_stale():
    jobs = JobRegistry()
    first = jobs.start(JobKind.LOAD, _Job)
    assert jobs.abandon(JobKind.LOAD) is True
    assert first.cancelled and jobs.running(JobKind.LOAD) is None
    assert jobs.is_latest(JobKind.LOAD, first.job_id) is False      # a result already queued is stale
    second = jobs.start(JobKind.LOAD, _Job)
    assert second.job_id > first.job_id and jobs.running(JobKind.LOAD) == second.job_id
    assert jobs.finish(JobKind.LOAD, first.job_id) is False          # its late end changes nothing
    assert jobs.running(JobKind.LOAD) == second.job_id
    assert jobs.finish(JobKind.LOAD, second.job_id) is True
    assert jobs.abandon(JobKind.LOAD) is False                       # nothing ran: the newest id stays
    assert jobs.is_latest(JobKind.LOAD, second.job_id)


def test_abandoned_jobs_are_held_and_cancelled_at_shutdown():
    jobs = JobRegistry()
    old = jobs.start(JobKind.LOAD, _Job)
    jobs.abandon(JobKind.LOAD)
    old.cancelled = False          # as if it had not seen the token yet
    other = jobs.start(JobKind.MEASURE, _Job)
    jobs.cancel()
    assert old.cancelled and other.cancelled
