from __future__ import annotations

import pytest

from privstats.anonymise.useragents import AgentWorker, AgentWorkerError, Device, classify


@pytest.mark.parametrize(
    ("agent", "browser", "os", "device", "bot"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.6099.109 Safari/537.36",
            "Chrome", "Windows", Device.DESKTOP, False,
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
            "Mobile Safari", "iOS", Device.MOBILE, False,
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
            "Mobile Safari", "iOS", Device.TABLET, False,
        ),
        (
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Googlebot", "Other", Device.BOT, True,
        ),
        ("Tiny Tiny RSS/20.04 (http://tt-rss.org/)", None, None, Device.BOT, True),
        ("curl/8.4.0", None, None, Device.BOT, True),
        ("-", "Other", "Other", Device.OTHER, False),
    ],
)  # fmt: skip
def test_agents_become_families(
    agent: str, browser: str | None, os: str | None, device: str, bot: bool
) -> None:
    result = classify(agent)
    if browser is not None:
        assert result.browser == browser
    if os is not None:
        assert result.os == os
    assert (result.device, result.is_bot) == (device, bot)


def test_the_major_version_is_a_number_or_nothing() -> None:
    agent = "Mozilla/5.0 (X11; Linux x86_64; rv:118.0) Gecko/20100101 Firefox/118.0"
    assert classify(agent).browser_major == "118"
    assert classify("weird/agent").browser_major is None


@pytest.mark.parametrize(
    "agent",
    ["CURL/8.4.0", "Python-Requests/2.31", "Mozilla/5.0 HeadlessChrome/120.0", "UptimeRobot/2.0"],
)
def test_bot_hints_match_whatever_the_case(agent: str) -> None:
    assert classify(agent).is_bot
    assert classify(agent).device == Device.BOT


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


def test_the_worker_classifies_as_this_process_does() -> None:
    with AgentWorker() as worker:
        for agents in (AGENTS, AGENTS[::-1], []):
            worker.ask(agents)
            assert worker.answers() == [classify(agent) for agent in agents]
    assert worker._process.returncode == 0  # it ends as soon as it is told


def test_answers_nobody_collected_do_not_answer_the_next_question() -> None:
    with AgentWorker() as worker:
        worker.ask(AGENTS[:2])  # an ingest that failed before reading its answers
        worker.ask(AGENTS[2:4])
        assert worker.answers() == [classify(agent) for agent in AGENTS[2:4]]
        with pytest.raises(AgentWorkerError):
            worker.answers()


def test_a_worker_that_stopped_is_an_error_that_quotes_nothing() -> None:
    worker = AgentWorker()
    worker._process.kill()
    worker._process.wait()
    with pytest.raises(AgentWorkerError) as raised:
        worker.ask(AGENTS)
        worker.answers()
    assert "Mozilla" not in str(raised.value) and "Canary" not in str(raised.value)
    worker.close()
