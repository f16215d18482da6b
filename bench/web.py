#!/usr/bin/env python3
"""`socialbot web` under 200 concurrent simulated users over loopback, each walking a procedure.

    .venv/bin/python bench/web.py                     # 200 users, each walks 2 procedures
    .venv/bin/python bench/web.py --users 50 --rounds 1

The real command runs in a subprocess (its own file database in a temporary folder); this process
is the users: each keeps its own cookies, opens the page, presses the welcome's procedure button and
then, step by step, the button that goes forward (a route's first choice, Next, Done) to the end.
Half post as the enhanced page does (`?fragment=1`), half as a browser without JavaScript (the whole
page back). Before the crowd, one user walks each procedure alone: that walk is what every user
must see. Printed, not asserted (2 shared cores make timings vary):

  errors     a status other than 200, a missing reply, a walk that never ends;
  crossed    a user shown a step, or a transcript, that is not their own walk;
  latency    per message (a POST), measured from sending it to its last byte, p50 / p99 / max;
  msg/s      messages answered over the crowd's wall time.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from http.cookies import SimpleCookie
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import tornado.httpclient  # noqa: E402

from tests.web_client import parse  # noqa: E402

MAX_STEPS = 40  # a walk longer than this never ends: an error


class User:
    """One browser: its cookies, the XSRF token of its last page, what it pressed and saw."""

    def __init__(self, client, base: str, fragment: bool, think: float = 0.0, seed: int = 0):
        self.client, self.base, self.fragment = client, base, fragment
        self.think, self.random = think, random.Random(seed)
        self.cookies: dict[str, str] = {}
        self.xsrf = ""
        self.latencies: list[float] = []
        self.pressed: list[str] = []

    async def fetch(self, path: str, fields: dict | None = None) -> str:
        headers = {"Accept-Language": "en", "Sec-Fetch-Site": "same-origin"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = urllib.parse.urlencode({"_xsrf": self.xsrf, **fields}) if fields is not None else None
        start = time.perf_counter()
        response = await self.client.fetch(self.base + path, method="POST" if body is not None else "GET",
                                           body=body, headers=headers, raise_error=False, request_timeout=60)
        if body is not None:
            self.latencies.append(time.perf_counter() - start)
        if response.code != 200:
            raise RuntimeError(f"{response.code} on {path}")
        for raw in response.headers.get_list("Set-Cookie"):
            for name, morsel in SimpleCookie(raw).items():
                self.cookies[name] = morsel.value
        return response.body.decode("utf-8")

    async def open(self):
        await self.pause()
        page = parse(await self.fetch("/"))
        self.xsrf = page.xsrf
        return page

    async def pause(self):
        if self.think:  # a person reads the reply before pressing on (and the crowd does not start in step)
            await asyncio.sleep(self.random.uniform(0, 2 * self.think))

    async def press(self, button_id: str, label: str):
        await self.pause()
        self.pressed.append(label)
        html = await self.fetch("/?fragment=1" if self.fragment else "/", {"button": button_id})
        # Only the newest reply is read: parsing a whole page per message would make these simulated
        # users, not the server, what the figures measure.
        last = html.rfind('<article class="turn turn-bot"')
        page = parse(html[last:]) if last >= 0 else None
        if page is None or not page.bubbles:
            raise RuntimeError("no reply")
        return page.bubbles[-1]


def forward(bubble) -> tuple[str, str] | None:
    """The button that moves a procedure on: Next, else a route's first choice, else Done."""
    for kind in (":next@", ":choose:", ":done@"):
        for label, bid in bubble.buttons:
            if kind in bid:
                return bid, label
    return None


async def walk(user: User, flow_index: int) -> list[tuple[str, str]]:
    """Open the page, start the flow_index-th procedure of the welcome, go forward to its end.
    Returns the (flow, step) of every reply."""
    welcome = (await user.open()).bubbles[-1]
    starts = [(bid, label) for label, bid in welcome.buttons if bid.endswith(":start")]
    bid, label = starts[flow_index % len(starts)]
    seen = []
    reply = await user.press(bid, label)
    while reply.attrs.get("data-kind") == "step":
        seen.append((reply.attrs.get("data-flow"), reply.attrs.get("data-step")))
        if len(seen) > MAX_STEPS:
            raise RuntimeError("a walk that never ends")
        nxt = forward(reply)
        if nxt is None:
            break
        reply = await user.press(*nxt)
    return seen


async def crowd(base: str, users: int, rounds: int, think: float) -> dict:
    tornado.httpclient.AsyncHTTPClient.configure(None, max_clients=users)
    client = tornado.httpclient.AsyncHTTPClient()
    reference = [await walk(User(client, base, fragment=True), i) for i in range(5)]
    errors, crossed = [], 0

    async def one(n: int):
        nonlocal crossed
        user = User(client, base, fragment=n % 2 == 0, think=think, seed=n)
        try:
            for r in range(rounds):
                flow = (n + r) % len(reference)
                if await walk(user, flow) != reference[flow]:
                    crossed += 1
            page = parse(await user.fetch("/"))  # the whole transcript: only this user's own words
            said = [b.text for b in page.bubbles if b.who == "user"]
            if said != user.pressed[-len(said):]:
                crossed += 1
        except Exception as err:  # counted and shown, never a crash of the whole run
            errors.append(f"user {n}: {err}")
        return user

    start = time.perf_counter()
    done = await asyncio.gather(*(one(n) for n in range(users)))
    wall = time.perf_counter() - start
    latencies = sorted(x for user in done for x in user.latencies)
    return {"errors": errors, "crossed": crossed, "latencies": latencies, "wall": wall}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(sorted_values: list[float], p: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))] * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=2, help="procedures each user walks")
    ap.add_argument("--think", type=float, default=0.5,
                    help="mean seconds a user pauses before pressing on (0: no pause at all)")
    args = ap.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "SOCIALBOT_WEB_SECRET": "bench-" + "s" * 32, "SOCIALBOT_WEB_RATE": "1000000"}
        server = subprocess.Popen([sys.executable, "-m", "bot.cli", "web", "--port", str(port),
                                   "--db", str(Path(tmp) / "web.db")], cwd=REPO, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            line = server.stdout.readline()
            if f":{port}/" not in line:
                print(f"the server did not start: {line!r}")
                return 1
            result = asyncio.run(crowd(f"http://127.0.0.1:{port}", args.users, args.rounds, args.think))
        finally:
            server.terminate()
            server.wait(20)
    me, child = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    lat = result["latencies"]
    print(f"users {args.users} x {args.rounds} procedures, pausing {args.think} s on average: "
          f"{len(lat)} messages in {result['wall']:.1f} s")
    print(f"errors {len(result['errors'])}  crossed {result['crossed']}")
    for err in result["errors"][:5]:
        print("  ", err)
    if lat:
        print(f"latency ms p50 {pct(lat, 0.5):.1f}  p99 {pct(lat, 0.99):.1f} (target < 100)  max {lat[-1] * 1000:.1f}")
        print(f"msg/s {len(lat) / result['wall']:.0f}")
    print(f"cpu s: server {child.ru_utime + child.ru_stime:.1f}, users {me.ru_utime + me.ru_stime:.1f}")
    return 0 if not result["errors"] and not result["crossed"] else 1


if __name__ == "__main__":
    sys.exit(main())
