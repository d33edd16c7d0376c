#!/usr/bin/python3
"""Plain-PyTorch implementation of attn's three models: the comparator in scripts/bench.sh.

It is what a careful user would write instead of attn: packed sequences in the
encoder, keys projected once per batch, batched greedy and beam search that stop
when every sentence is done, the loss over the padded logits with ignore_index.
The models have attn's shapes and parameter counts (same layers, same sizes), so
both sides do the same arithmetic; nothing here is tuned beyond that.

  reference.py bench --model M --what train|greedy|beam ...   synthetic batches, like `attn bench`
  reference.py train --model M --src F --tgt F --steps N --save P   training on files
  reference.py translate --load P --input F --output F [--beam K] [--batch-size B]
  reference.py serve --load P [--port N]     HTTP: POST /v1/translate {"src": TEXT} -> {"text": ...}

Every mode prints one JSON object. Debian's python3-torch uses the same
libblas.so.3 as attn, so one BLAS serves both.
"""
import argparse
import json
import os
import random
import resource
import sys
import threading
import time

# attn keeps freed memory in the heap (mallopt in src/main.cpp); glibc's
# default returns large tensors to the kernel and page-faults them back at the
# next step, which made this script 3x slower. The same settings here, set
# before the interpreter starts: the comparison is about the code, not malloc.
if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
    os.environ.update(MALLOC_MMAP_THRESHOLD_=str(32 << 20), MALLOC_TRIM_THRESHOLD_=str(1 << 30), MALLOC_MMAP_MAX_="0")
    os.execv(sys.executable, [sys.executable] + sys.argv)

T_START = time.perf_counter()
# OpenBLAS runs its own thread pool, which torch.set_num_threads does not
# reach (attn sets it through openblas_set_num_threads): one --threads for both.
_threads = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv[:-1] else "1"
os.environ.setdefault("OPENBLAS_NUM_THREADS", _threads)
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

T_IMPORT = time.perf_counter() - T_START
PAD, UNK, BOS, EOS = 0, 1, 2, 3


# --- models -----------------------------------------------------------------
class Encoder(nn.Module):
    def __init__(self, vocab, emb, hidden):
        super().__init__()
        self.embed = nn.Embedding(vocab, emb, padding_idx=PAD)
        self.rnn = nn.GRU(emb, hidden, batch_first=True, bidirectional=True)

    def forward(self, src, src_len):
        packed = nn.utils.rnn.pack_padded_sequence(self.embed(src), src_len.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        out, h = self.rnn(packed)
        states, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
        return states, h[0], h[1]  # [B, S, 2H], last forward state, backward state at position 0


def context(a, values):
    """sum_j a_j h_j for one query per sentence. Not bmm: ATen's CPU bmm over [B, 1, S] x [B, S, K]
    (and its backward) runs B tiny products and was 4x slower per training step here."""
    return (a.unsqueeze(2) * values).sum(1)


class Bahdanau(nn.Module):
    """e = v^T tanh(W s_{i-1} + U h_j); s_i = GRU([E y; c], s_{i-1}); deep output tanh."""

    def __init__(self, vocab, emb, hidden, dec):
        super().__init__()
        K = 2 * hidden
        self.embed = nn.Embedding(vocab, emb, padding_idx=PAD)
        self.init = nn.Linear(hidden, dec)
        self.query_layer = nn.Linear(dec, dec, bias=False)
        self.key_layer = nn.Linear(K, dec)
        self.v = nn.Linear(dec, 1, bias=False)
        self.cell = nn.GRUCell(emb + K, dec)
        self.readout = nn.Linear(dec + emb + K, emb)
        self.out = nn.Linear(emb, vocab)

    def start(self, states, last_fwd, first_bwd, mask):
        return {"s": torch.tanh(self.init(first_bwd)), "keys": self.key_layer(states), "values": states,
                "mask": mask}

    def step(self, m, y):
        e = self.embed(y)
        scores = self.v(torch.tanh(self.query_layer(m["s"]).unsqueeze(1) + m["keys"])).squeeze(2)
        a = torch.softmax(scores.masked_fill(~m["mask"], float("-inf")), dim=1)
        c = context(a, m["values"])
        m["s"] = self.cell(torch.cat([e, c], 1), m["s"])
        return self.out(torch.tanh(self.readout(torch.cat([m["s"], e, c], 1))))



class Luong(nn.Module):
    """General score e = s^T W h, input feeding: s_t = GRU([E y; h~_{t-1}]); h~ = tanh(W_c [c; s])."""

    def __init__(self, vocab, emb, hidden, dec):
        super().__init__()
        K = 2 * hidden
        self.embed = nn.Embedding(vocab, emb, padding_idx=PAD)
        self.bridge = nn.Linear(K, dec)
        self.cell = nn.GRUCell(emb + dec, dec)
        self.key_layer = nn.Linear(K, dec, bias=False)
        self.combine = nn.Linear(K + dec, dec, bias=False)
        self.out = nn.Linear(dec, vocab)

    def start(self, states, last_fwd, first_bwd, mask):
        s = torch.tanh(self.bridge(torch.cat([last_fwd, first_bwd], 1)))
        return {"s": s, "feed": torch.zeros_like(s), "keys": self.key_layer(states), "values": states, "mask": mask}

    def step(self, m, y):
        m["s"] = self.cell(torch.cat([self.embed(y), m["feed"]], 1), m["s"])
        scores = torch.bmm(m["keys"], m["s"].unsqueeze(2)).squeeze(2)
        a = torch.softmax(scores.masked_fill(~m["mask"], float("-inf")), dim=1)
        c = context(a, m["values"])
        m["feed"] = torch.tanh(self.combine(torch.cat([c, m["s"]], 1)))
        return self.out(m["feed"])



class Bottleneck(nn.Module):
    """One summary c = tanh(W [h_fwd; h_bwd]); s_i = GRU([E y; c]); deep output over [s; E y; c]."""

    def __init__(self, vocab, emb, hidden, dec):
        super().__init__()
        K = 2 * hidden
        self.embed = nn.Embedding(vocab, emb, padding_idx=PAD)
        self.summary = nn.Linear(K, dec)
        self.init = nn.Linear(dec, dec)
        self.rnn = nn.GRU(emb + dec, dec, batch_first=True)  # the parameters of a GRUCell
        self.readout = nn.Linear(dec + emb + dec, emb)
        self.out = nn.Linear(emb, vocab)

    def start(self, states, last_fwd, first_bwd, mask):
        c = torch.tanh(self.summary(torch.cat([last_fwd, first_bwd], 1)))
        return {"s": torch.tanh(self.init(c)), "c": c}

    def step(self, m, y):
        e = self.embed(y)
        _, h = self.rnn(torch.cat([e, m["c"]], 1).unsqueeze(1), m["s"].unsqueeze(0))
        m["s"] = h[0]
        return self.out(torch.tanh(self.readout(torch.cat([m["s"], e, m["c"]], 1))))

    def teacher_forced(self, m, tgt_in):  # the whole target at once: no attention feeds back
        e = self.embed(tgt_in)
        c = m["c"].unsqueeze(1).expand(-1, tgt_in.size(1), -1)
        h, _ = self.rnn(torch.cat([e, c], 2), m["s"].unsqueeze(0))
        return self.out(torch.tanh(self.readout(torch.cat([h, e, c], 2))))



class Seq2Seq(nn.Module):
    def __init__(self, model, src_vocab, tgt_vocab, emb, hidden, dec):
        super().__init__()
        self.kind = model
        self.encoder = Encoder(src_vocab, emb, hidden)
        self.decoder = {"bahdanau": Bahdanau, "luong": Luong, "bottleneck": Bottleneck}[model](
            tgt_vocab, emb, hidden, dec)

    def start(self, src, src_len):
        states, last_fwd, first_bwd = self.encoder(src, src_len)
        mask = torch.arange(src.size(1)).unsqueeze(0) < src_len.unsqueeze(1)
        return self.decoder.start(states, last_fwd, first_bwd, mask)

    @staticmethod
    def reorder(m, idx, state=("s", "feed")):
        """Beam search: rows of the recurrent state follow their hypotheses. The encoder side is
        the same for every hypothesis of a sentence, so it is expanded once, not copied per step."""
        return {k: v.index_select(0, idx) if k in state else v for k, v in m.items()}

    def loss(self, src, src_len, tgt_in, tgt_out):
        m = self.start(src, src_len)
        if hasattr(self.decoder, "teacher_forced"):
            logits = self.decoder.teacher_forced(m, tgt_in)
        else:
            logits = torch.stack([self.decoder.step(m, tgt_in[:, t]) for t in range(tgt_in.size(1))], 1)
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1), ignore_index=PAD)


# --- search -----------------------------------------------------------------
def max_lengths(src_len, ratio, add):  # attn's formula: ratio * source tokens (without EOS) + add
    return [max(1, int(ratio * (n - 1)) + add) for n in src_len.tolist()]


@torch.no_grad()
def greedy(model, src, src_len, ratio, add):
    B = src.size(0)
    limit = max_lengths(src_len, ratio, add)
    m = model.start(src, src_len)
    y = torch.full((B,), BOS, dtype=torch.long)
    out = [[] for _ in range(B)]
    done = [False] * B
    for t in range(max(limit)):
        tok = torch.log_softmax(model.decoder.step(m, y), -1).argmax(-1)
        for b, k in enumerate(tok.tolist()):
            if done[b]:
                continue
            if k == EOS:
                done[b] = True
            else:
                out[b].append(k)
                done[b] = len(out[b]) >= limit[b]
        if all(done):
            break
        y = tok
    return out


@torch.no_grad()
def beam(model, src, src_len, K, ratio, add, alpha=0.0):
    B = src.size(0)
    limit = max_lengths(src_len, ratio, add)
    m = {k: v.repeat_interleave(K, 0) for k, v in model.start(src, src_len).items()}  # K rows per sentence
    y = torch.full((B * K,), BOS, dtype=torch.long)
    scores = torch.full((B, K), float("-inf"))
    scores[:, 0] = 0
    hist = [[[] for _ in range(K)] for _ in range(B)]
    finished = [[] for _ in range(B)]
    done = [False] * B
    lp = lambda n: ((5 + n) / 6) ** alpha  # noqa: E731
    for t in range(max(limit)):
        logp = torch.log_softmax(model.decoder.step(m, y), -1)
        V = logp.size(1)
        total = (scores.unsqueeze(2) + logp.view(B, K, V)).view(B, K * V)
        top, idx = total.topk(2 * K, dim=1)
        origin, token = idx // V, idx % V
        new_scores = torch.full((B, K), float("-inf"))
        new_tok = torch.full((B, K), PAD, dtype=torch.long)
        new_from = torch.zeros((B, K), dtype=torch.long)
        new_hist = [[[] for _ in range(K)] for _ in range(B)]
        top_l, origin_l, token_l = top.tolist(), origin.tolist(), token.tolist()
        for b in range(B):
            if done[b]:
                continue
            j = 0
            for r in range(2 * K):
                o, k, s = origin_l[b][r], token_l[b][r], top_l[b][r]
                if s == float("-inf"):
                    break
                h = hist[b][o]
                if k == EOS or len(h) + 1 >= limit[b]:
                    words = h if k == EOS else h + [k]
                    finished[b].append((s / lp(len(words) + (k == EOS)), words))
                    continue
                if j < K:
                    new_scores[b, j], new_tok[b, j], new_from[b, j] = s, k, o
                    new_hist[b][j] = h + [k]
                    j += 1
            if len(finished[b]) >= K or j == 0:
                done[b] = True
        if all(done):
            break
        scores, hist = new_scores, new_hist
        flat = (torch.arange(B).unsqueeze(1) * K + new_from).view(-1)
        m = model.reorder(m, flat)
        y = new_tok.view(-1)
    return [max(f)[1] if f else [] for f in finished]


# --- data -------------------------------------------------------------------
def batch_tensors(pairs):
    """pairs: [(src ids, tgt ids)] -> src (with EOS), src_len, tgt_in (BOS ...), tgt_out (... EOS)."""
    S = max(len(s) for s, _ in pairs) + 1
    T = max(len(t) for _, t in pairs) + 1
    B = len(pairs)
    src = torch.zeros((B, S), dtype=torch.long)
    tgt_in = torch.zeros((B, T), dtype=torch.long)
    tgt_out = torch.zeros((B, T), dtype=torch.long)
    for i, (s, t) in enumerate(pairs):
        src[i, :len(s) + 1] = torch.tensor(s + [EOS])
        tgt_in[i, :len(t) + 1] = torch.tensor([BOS] + t)
        tgt_out[i, :len(t) + 1] = torch.tensor(t + [EOS])
    src_len = torch.tensor([len(s) + 1 for s, _ in pairs])
    return src, src_len, tgt_in, tgt_out


def read_tokens(path):
    with open(path, encoding="utf-8") as f:
        return [line.split() for line in f]


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make_model(a, src_vocab, tgt_vocab):
    return Seq2Seq(a.model, src_vocab, tgt_vocab, a.emb, a.hidden, a.dec_hidden or a.hidden)


# --- modes ------------------------------------------------------------------
def synthetic_batch(k, a):  # the length formula of attn bench (src/train/benchmark.cpp)
    span = a.max_len - a.min_len + 1
    pairs = []
    for i in range(a.batch):
        n = a.min_len + (k * 131 + i * 17) % span
        s = torch.randint(4, a.vocab, (n,)).tolist()
        pairs.append((s, s[::-1]))
    return batch_tensors(pairs)


def cmd_bench(a):
    torch.manual_seed(a.seed)
    model = make_model(a, a.vocab, a.vocab)
    if a.what != "train":
        with torch.no_grad():
            model.decoder.out.bias[EOS] = -1e4  # as attn bench: every decode runs to its length limit
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    batches = [synthetic_batch(k, a) for k in range(min(a.warmup + a.repeats, 20))]
    ms, tokens, sentences = [], 0, 0
    for k in range(a.warmup + a.repeats):
        src, src_len, tgt_in, tgt_out = batches[k % len(batches)]
        t0 = time.perf_counter()
        if a.what == "train":
            model.train()
            opt.zero_grad()
            model.loss(src, src_len, tgt_in, tgt_out).backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        else:
            model.eval()
            if a.what == "greedy":
                greedy(model, src, src_len, 1.0, 0)
            else:
                beam(model, src, src_len, a.beam, 1.0, 0)
        dt = (time.perf_counter() - t0) * 1000
        if k >= a.warmup:
            ms.append(dt)
            tokens += int((tgt_out != PAD).sum())
            sentences += src.size(0)
    total = sum(ms) / 1000
    r = {"impl": "pytorch", "model": a.model, "what": a.what, "emb": a.emb, "hidden": a.hidden, "batch": a.batch,
         "len": f"{a.min_len}-{a.max_len}", "vocab": a.vocab,
         "parameters": sum(p.numel() for p in model.parameters()),
         "ms_per_batch_median": sorted(ms)[len(ms) // 2], "repeats": a.repeats,
         "threads": torch.get_num_threads(), "peak_rss_mib": peak_rss_mib()}
    if a.what == "train":
        r["target_tokens_per_sec"] = tokens / total
    else:
        r["sentences_per_sec"] = sentences / total
    print(json.dumps(r))


def cmd_train(a):
    torch.manual_seed(a.seed)
    random.seed(a.seed)
    src_lines, tgt_lines = read_tokens(a.src), read_tokens(a.tgt)
    if len(src_lines) != len(tgt_lines):
        sys.exit(f"error: {a.src} and {a.tgt} differ in line count")
    specials = ["<pad>", "<unk>", "<s>", "</s>"]
    sv = {w: i for i, w in enumerate(specials + sorted({w for l in src_lines for w in l}))}
    tv = {w: i for i, w in enumerate(specials + sorted({w for l in tgt_lines for w in l}))}
    data = [([sv[w] for w in s], [tv[w] for w in t]) for s, t in zip(src_lines, tgt_lines) if s and t]
    model = make_model(a, len(sv), len(tv))
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    # Length buckets, as attn batches: sort chunks of 100 batches by length, shuffle the batches.
    def epoch():
        random.shuffle(data)
        out = []
        for c in range(0, len(data), 100 * a.batch):
            chunk = sorted(data[c:c + 100 * a.batch], key=lambda p: len(p[0]))
            out += [chunk[i:i + a.batch] for i in range(0, len(chunk), a.batch)]
        random.shuffle(out)
        return out
    step, tokens, losses = 0, 0, []
    t0 = time.perf_counter()
    while step < a.steps:
        for pairs in epoch():
            src, src_len, tgt_in, tgt_out = batch_tensors(pairs)
            opt.zero_grad()
            loss = model.loss(src, src_len, tgt_in, tgt_out)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), a.clip)
            opt.step()
            step += 1
            tokens += int((tgt_out != PAD).sum())
            losses.append(loss.item())
            if step >= a.steps:
                break
    secs = time.perf_counter() - t0
    if a.save:
        torch.save({"args": vars(a), "src_vocab": sv, "tgt_vocab": tv, "state": model.state_dict()}, a.save)
    print(json.dumps({"impl": "pytorch", "mode": "train", "model": a.model, "updates": step, "train_seconds": secs,
                      "target_tokens_per_sec": tokens / secs, "first_loss": losses[0], "last_loss": losses[-1],
                      "parameters": sum(p.numel() for p in model.parameters()),
                      "threads": torch.get_num_threads(), "peak_rss_mib": peak_rss_mib()}))


def load(path):
    """A model saved by `train --save`, in eval mode: (model, its args, source vocab, target id -> word)."""
    ck = torch.load(path)
    args = argparse.Namespace(**ck["args"])
    sv, tv = ck["src_vocab"], ck["tgt_vocab"]
    model = make_model(args, len(sv), len(tv))
    model.load_state_dict(ck["state"])
    model.eval()
    return model, args, sv, {i: w for w, i in tv.items()}


def cmd_translate(a):
    t0 = time.perf_counter()
    model, args, sv, words = load(a.load)
    t_load = time.perf_counter() - t0
    t1 = time.perf_counter()
    lines = read_tokens(a.input)
    ids = [[sv.get(w, UNK) for w in l] for l in lines]
    order = sorted((i for i in range(len(ids)) if ids[i]), key=lambda i: len(ids[i]))
    hyps = [[] for _ in ids]
    for c in range(0, len(order), a.batch_size):
        chunk = order[c:c + a.batch_size]
        src, src_len, _, _ = batch_tensors([(ids[i], [0]) for i in chunk])
        if a.beam > 1:
            out = beam(model, src, src_len, a.beam, a.max_len_ratio, a.max_len_add, a.length_penalty)
        else:
            out = greedy(model, src, src_len, a.max_len_ratio, a.max_len_add)
        for i, h in zip(chunk, out):
            hyps[i] = h
    with open(a.output, "w", encoding="utf-8") as f:
        for h in hyps:
            f.write(" ".join(words[k] for k in h) + "\n")
    secs = time.perf_counter() - t1
    n = len(order)
    print(json.dumps({"impl": "pytorch", "mode": "translate", "model": args.model, "beam": a.beam,
                      "batch_size": a.batch_size, "sentences": n, "translate_seconds": secs,
                      "sentences_per_sec": n / secs if secs > 0 else 0, "ms_per_sentence": 1000 * secs / max(n, 1),
                      "import_seconds": T_IMPORT, "load_seconds": t_load,
                      "output_tokens": sum(len(h) for h in hyps), "threads": torch.get_num_threads(),
                      "peak_rss_mib": peak_rss_mib()}))


def cmd_serve(a):
    """A plain server, as one is usually written: http.server's threads, one
    model behind a lock, each request decoded alone (greedy)."""
    import http.server
    model, args, sv, words = load(a.load)
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as attn serve
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK wait

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            ids = [sv.get(w, UNK) for w in body["src"].split()]
            with lock, torch.no_grad():
                src, src_len, _, _ = batch_tensors([(ids, [0])])
                out = greedy(model, src, src_len, 2.0, 10)[0]
            data = json.dumps({"text": " ".join(words[k] for k in out)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    print(f"listening on http://127.0.0.1:{srv.server_address[1]}", flush=True)
    srv.serve_forever()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    for name in ("bench", "train"):
        s = sub.add_parser(name)
        s.add_argument("--model", choices=["bahdanau", "luong", "bottleneck"], required=True)
        s.add_argument("--emb", type=int, default=64)
        s.add_argument("--hidden", type=int, default=128)
        s.add_argument("--dec-hidden", type=int, default=0)
        s.add_argument("--batch", type=int, default=64)
        s.add_argument("--seed", type=int, default=1)
    b = sub.choices["bench"]
    b.add_argument("--what", choices=["train", "greedy", "beam"], default="train")
    b.add_argument("--min-len", type=int, default=30)
    b.add_argument("--max-len", type=int, default=30)
    b.add_argument("--vocab", type=int, default=1000)
    b.add_argument("--beam", type=int, default=5)
    b.add_argument("--warmup", type=int, default=3)
    b.add_argument("--repeats", type=int, default=10)
    t = sub.choices["train"]
    t.add_argument("--src", required=True)
    t.add_argument("--tgt", required=True)
    t.add_argument("--steps", type=int, required=True)
    t.add_argument("--lr", type=float, default=0.002)
    t.add_argument("--clip", type=float, default=1.0)
    t.add_argument("--save", default="")
    tr = sub.add_parser("translate")
    tr.add_argument("--load", required=True)
    tr.add_argument("--input", required=True)
    tr.add_argument("--output", required=True)
    tr.add_argument("--beam", type=int, default=1)
    tr.add_argument("--batch-size", type=int, default=64)
    tr.add_argument("--length-penalty", type=float, default=0.0)
    tr.add_argument("--max-len-ratio", type=float, default=2.0)
    tr.add_argument("--max-len-add", type=int, default=10)
    sv = sub.add_parser("serve")
    sv.add_argument("--load", required=True)
    sv.add_argument("--port", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    {"bench": cmd_bench, "train": cmd_train, "translate": cmd_translate, "serve": cmd_serve}[a.mode](a)


if __name__ == "__main__":
    main()
