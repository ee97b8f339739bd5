"""Aggregate generation throughput and time to first token of `tessera serve` against llama.cpp's
llama-server, same model, same slots, with 1, 4 and 16 concurrent streaming clients; the two
servers alternate over several rounds (the machine is shared and noisy) and the script prints
medians and the ratios Tessera / llama.cpp. It also samples each server's RSS during the run, and
`--soak SECONDS` keeps 4 clients busy on Tessera alone for that long to show whether memory stays
flat.

usage: .venv/bin/python bench/server_bench.py --peer PATH/TO/llama-server [MODEL.gguf]
           [--rounds 2] [--clients 1,4,16] [-n 32] [-np 16] [-c 4096] [-t 2]
           [--bin build/tessera] [--soak 0]

The peer is the real llama-server built from llama-cpp-python 0.3.36's source package
(vendor/llama.cpp, `cmake -DLLAMA_BUILD_SERVER=ON && ninja llama-server`). Each client streams
/v1/completions with its own prompt, temperature 0 and ignore_eos, so every request generates
exactly N tokens on both servers. Throughput = all clients' generated tokens / wall time from the
first request to the last token; TTFT = time from sending a request to its first text chunk.
"""
import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from server_harness import free_port  # noqa: E402

SUBJECTS = ["The capital of France", "Water", "The largest planet", "A triangle", "The speed of light", "Python",
            "Gold", "The Pacific Ocean", "Mount Everest", "The human heart", "A haiku", "The moon",
            "Photosynthesis", "The first computer", "Music", "The Roman Empire"]


def rss_bytes(pid: int, field: str = "VmRSS") -> int:
    """VmRSS (everything resident), RssAnon (heap, stacks) or RssFile (mapped model pages)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


class Running:
    def __init__(self, argv, port):
        self.port = port
        self.log = open(f"/tmp/server_bench_{Path(argv[0]).name}_{port}.log", "wb")
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.time() + 300
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{argv[0]} exited with {self.proc.returncode}; see {self.log.name}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/v1/models")  # every server has it (llama-cpp-python has no /health)
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{argv[0]} did not become ready")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(60)
        self.log.close()


def one_client(port, prompt, n_predict, out, index):
    """Streams one completion; records (ttft seconds, tokens, end time)."""
    body = json.dumps({"prompt": prompt, "max_tokens": n_predict, "temperature": 0, "ignore_eos": True,
                       "stream": True, "stream_options": {"include_usage": True}, "cache_prompt": False})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    t0 = time.perf_counter()
    conn.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    ttft, tokens, chunks = None, None, 0
    for raw in resp:
        line = raw.strip()
        if not line.startswith(b"data: ") or line == b"data: [DONE]":
            continue
        event = json.loads(line[6:])
        if event.get("choices") and event["choices"][0].get("text"):
            chunks += 1
            if ttft is None:
                ttft = time.perf_counter() - t0
        if event.get("usage"):
            tokens = event["usage"]["completion_tokens"]
    out[index] = (ttft, tokens if tokens is not None else chunks, time.perf_counter())


def measure(port, n_clients, n_predict):
    """(aggregate tokens/s, median TTFT s) of n_clients concurrent streams."""
    out = [None] * n_clients
    threads = [threading.Thread(target=one_client,
                                args=(port, f"{SUBJECTS[i % len(SUBJECTS)]} is", n_predict, out, i))
               for i in range(n_clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    end = max(r[2] for r in out)
    tokens = sum(r[1] for r in out)
    return tokens / (end - t0), statistics.median(r[0] for r in out)


def sample_rss(pid, samples, stop, field="VmRSS"):
    while not stop.is_set():
        try:
            samples.append(rss_bytes(pid, field))
        except OSError:
            return
        stop.wait(0.25)


def with_port(argv, port):
    """argv with its --port value replaced: every start gets a fresh port (no TIME_WAIT clashes)."""
    out = list(argv)
    out[out.index("--port") + 1] = str(port)
    return out


def run_round(name, argv, clients, n_predict, results, rss):
    port = free_port()
    server = Running(with_port(argv, port), port)
    samples, stop = [], threading.Event()
    sampler = threading.Thread(target=sample_rss, args=(server.proc.pid, samples, stop))
    sampler.start()
    try:
        measure(port, 1, 4)  # warm-up
        for c in clients:
            tps, ttft = measure(port, c, n_predict)
            results[(name, c)].append((tps, ttft))
            print(f"  {name:8s} {c:3d} clients: {tps:7.1f} tokens/s, TTFT {ttft * 1e3:7.1f} ms", flush=True)
    finally:
        stop.set()
        sampler.join()
        server.stop()
    rss[name].append((min(samples), max(samples)))


def soak(argv, port, seconds, n_predict):
    server = Running(argv, port)
    samples, anon, stop = [], [], threading.Event()
    sampler = threading.Thread(target=sample_rss, args=(server.proc.pid, samples, stop))
    anon_sampler = threading.Thread(target=sample_rss, args=(server.proc.pid, anon, stop, "RssAnon"))
    sampler.start()
    anon_sampler.start()
    start, requests = time.time(), 0
    try:
        while time.time() - start < seconds:
            measure(port, 4, n_predict)
            requests += 4
    finally:
        stop.set()
        sampler.join()
        anon_sampler.join()
        server.stop()
    for name, values in (("RSS", samples), ("RssAnon", anon)):
        q = max(1, len(values) // 10)
        first, last = statistics.median(values[q:2 * q]), statistics.median(values[-q:])
        print(f"soak: {requests} requests in {time.time() - start:.0f} s; {name} after warm-up {first / 2**20:.1f} MiB, "
              f"at the end {last / 2**20:.1f} MiB, peak {max(values) / 2**20:.1f} MiB")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?", default=str(REPO / "models" / "gemma-3-270m-q4_k_m.gguf"))
    ap.add_argument("--peer", help="llama-server binary, or the python of a venv with llama-cpp-python[server]")
    ap.add_argument("--peer-kind", choices=["llama-server", "llama-cpp-python"], default="llama-server",
                    help="llama-cpp-python's bundled server serves one request at a time (no slots)")
    ap.add_argument("--bin", default=str(REPO / "build" / "tessera"))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("-n", type=int, default=32, help="tokens generated per request")
    ap.add_argument("-np", type=int, default=16, help="parallel slots of both servers")
    ap.add_argument("-c", type=int, default=4096, help="context of both servers (shared by the slots)")
    ap.add_argument("-t", type=int, default=os.cpu_count(), help="threads of both servers")
    ap.add_argument("--soak", type=float, default=0.0, help="seconds of a Tessera-only memory soak")
    args = ap.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    port = free_port()
    common = ["-m", args.model, "-c", str(args.c), "-np", str(args.np), "-t", str(args.t), "--port", str(port)]
    servers = {"tessera": [args.bin, "serve", *common]}
    if args.peer and args.peer_kind == "llama-server":
        # Continuous batching is llama-server's default; one KV cache shared by the slots as ours.
        servers["llama.cpp"] = [args.peer, *common, "-tb", str(args.t), "--no-webui"]
    elif args.peer:
        servers["llama.cpp"] = [args.peer, "-m", "llama_cpp.server", "--model", args.model, "--n_ctx", str(args.c),
                                "--n_threads", str(args.t), "--n_threads_batch", str(args.t), "--port", str(port)]
    if args.soak > 0:
        soak(servers["tessera"], port, args.soak, args.n)
        return
    results = {(name, c): [] for name in servers for c in clients}
    rss = {name: [] for name in servers}
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", flush=True)
        for name, argv in servers.items():
            run_round(name, argv, clients, args.n, results, rss)
    print(f"\nmedians over {args.rounds} rounds; {args.n} tokens per request, -np {args.np}, -c {args.c}, "
          f"-t {args.t}")
    print(f"{'clients':>7} | {'tessera tok/s':>13} {'TTFT ms':>8} | {'llama.cpp tok/s':>15} {'TTFT ms':>8} | "
          f"{'tok/s ratio':>11} {'TTFT ratio':>10}")
    for c in clients:
        t_tps = statistics.median(x[0] for x in results[("tessera", c)])
        t_ttft = statistics.median(x[1] for x in results[("tessera", c)]) * 1e3
        if "llama.cpp" in servers:
            l_tps = statistics.median(x[0] for x in results[("llama.cpp", c)])
            l_ttft = statistics.median(x[1] for x in results[("llama.cpp", c)]) * 1e3
            print(f"{c:7d} | {t_tps:13.1f} {t_ttft:8.1f} | {l_tps:15.1f} {l_ttft:8.1f} | {t_tps / l_tps:11.2f} "
                  f"{t_ttft / l_ttft:10.2f}")
        else:
            print(f"{c:7d} | {t_tps:13.1f} {t_ttft:8.1f} |")
    for name, ranges in rss.items():
        print(f"RSS {name}: " + ", ".join(f"{lo / 2**20:.0f}-{hi / 2**20:.0f} MiB" for lo, hi in ranges))


if __name__ == "__main__":
    main()
