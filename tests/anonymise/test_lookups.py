from __future__ import annotations

import time

import pytest

from privstats.anonymise.lookups import Answers, LookupWorker, LookupWorkerError, look_up
from privstats.anonymise.useragents import classify

AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.109 Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (X11; Linux x86_64) CanaryBrowser/9.9.9-zk (KanarekToolbar) zażółć \ufffd",
    "curl/8.4.0",
    "-",
    None,
]


HOSTS = [
    "www.google.co.uk",
    "mail.example.org",
    "192.0.2.7",
    "localhost",
    "żółw.pl",
    "xn--80ak6aa92e.com",
]


def test_the_worker_answers_as_this_process_does_in_the_order_asked() -> None:
    questions = [(AGENTS, HOSTS), (AGENTS[::-1], HOSTS[::-1]), ([], [])]
    with LookupWorker() as worker:
        assert worker.ready()  # nothing asked: nothing to wait for
        for agents, hosts in questions:
            worker.ask(agents, hosts)
        deadline = time.monotonic() + 60
        while not worker.ready() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert worker.ready()
        for agents, hosts in questions:
            assert worker.answers() == look_up(agents, hosts)
    assert look_up(AGENTS[:1], HOSTS[:3]) == Answers(
        [classify(AGENTS[0])], ["google.co.uk", "example.org", None]
    )


def test_answers_nobody_collected_do_not_answer_the_next_question() -> None:
    with LookupWorker() as worker:
        worker.ask(AGENTS[:2], HOSTS[:2])  # an ingest that failed before reading its answers
        worker.drain()
        worker.ask(AGENTS[2:4], HOSTS[2:])
        assert worker.answers() == look_up(AGENTS[2:4], HOSTS[2:])
        with pytest.raises(LookupWorkerError):
            worker.answers()


def test_a_worker_that_stopped_is_an_error_that_quotes_nothing() -> None:
    worker = LookupWorker()
    worker._process.kill()
    worker._process.wait()
    with pytest.raises(LookupWorkerError) as raised:
        worker.ask(AGENTS, HOSTS)
        worker.answers()
    said = str(raised.value)
    assert "Mozilla" not in said and "Canary" not in said and "example" not in said
    worker.close()
