"""What the Multi30k scripts share: where the binary and the corpus are, and one `attn evaluate` call."""
import json
import subprocess
import sys

A = "./build/attn"
DATA = "data/multi30k"
VAL = (f"{DATA}/val.de.gz", f"{DATA}/val.en.gz")
TEST = (f"{DATA}/test_2016_flickr.de.gz", f"{DATA}/test_2016_flickr.en.gz")


def slug(name):
    """A file name for a variant's name."""
    return "".join(c if c.isalnum() else "_" for c in name)


def evaluate(checkpoints, data, beam, alpha, out):
    """attn evaluate's metrics (its --json) for one checkpoint or an ensemble on data = (src, ref), one thread;
    outputs and attention go to `out`. Exits with the command and its error when it fails."""
    cmd = [A, "--threads", "1", "--log-level", "warn", "evaluate", "--json", "--checkpoint", *checkpoints,
           "--src", data[0], "--ref", data[1], "--beam", str(beam), "--length-penalty", str(alpha), "--out", out]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr}")
    return json.loads(p.stdout)


def machine():
    """CPU, BLAS and its measured sgemm rate (attn info), to stand beside every number."""
    info = json.loads(subprocess.run([A, "--threads", "1", "info", "--json", "--quick"], capture_output=True,
                                     text=True, check=True).stdout)
    return {"cpu": info["cpu"], "blas": info["blas"]["name"], "blas_core": info["blas"].get("core"),
            "sgemm_gflops": round(info["blas"]["gflops_geomean"], 1), "kernels": info.get("kernels")}
