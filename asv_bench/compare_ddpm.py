"""DDPM's U-Net in skneuro next to the same U-Net in PyTorch on the CPU, as ratios.

    python asv_bench/compare_ddpm.py
    python asv_bench/compare_ddpm.py --readme README.md

Both train the default U-Net (32 channels, 2 levels, one residual block per
level and path, group normalization with 8 groups, SiLU, a 64-wide step
embedding, average pooling down, nearest upsampling up, skips concatenated)
on scikit-learn's 1,797 digits scaled to [-1, 1], T = 200, Adam 1e-3, batch
64, for a fixed number of epochs; then each draws 100 samples with a
50-step DDIM sampler. One process, same threads, alternating runs, the first
(compiling) run outside the timing.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from compare import alternate, torch_on_every_core  # noqa: E402

N_STEPS = 200
SAMPLES = 100
SAMPLING_STEPS = 50


class TorchDDPM:
    """The same U-Net and training loop in PyTorch."""

    def __init__(self, epochs, channels=32, embedding=64, groups=8, batch_size=64, seed=0):
        self.epochs, self.channels, self.embedding = epochs, channels, embedding
        self.groups, self.batch_size, self.seed = groups, batch_size, seed

    def _module(self):
        import torch
        from torch import nn

        width, emb = self.channels, self.embedding
        groups = self.groups

        def norm(c):
            return nn.GroupNorm(max(g for g in range(1, min(groups, c) + 1) if c % g == 0), c)

        class Block(nn.Module):
            def __init__(self, c_in, c_out):
                super().__init__()
                self.n1, self.c1 = norm(c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
                self.e = nn.Linear(emb, c_out)
                self.n2, self.c2 = norm(c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
                self.skip = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1)

            def forward(self, x, e):
                h = self.c1(nn.functional.silu(self.n1(x)))
                h = h + self.e(e)[:, :, None, None]
                h = self.c2(nn.functional.silu(self.n2(h)))
                return h + self.skip(x)

        class UNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.t1, self.t2 = nn.Linear(emb, emb), nn.Linear(emb, emb)
                self.inp = nn.Conv2d(1, width, 3, padding=1)
                self.d1, self.d2 = Block(width, width), Block(width, 2 * width)
                self.mid = Block(2 * width, 2 * width)
                self.u2, self.u1 = Block(4 * width, 2 * width), Block(3 * width, width)
                self.out_n, self.out = norm(width), nn.Conv2d(width, 1, 3, padding=1)

            def embed(self, t):
                half = emb // 2
                freqs = torch.exp(-np.log(10000.0) * torch.arange(half) / half)
                angles = t[:, None] * freqs[None, :]
                e = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
                return nn.functional.silu(self.t2(nn.functional.silu(self.t1(e))))

            def forward(self, x, t):
                e = self.embed(t)
                h = self.inp(x)
                s1 = self.d1(h, e)
                s2 = self.d2(nn.functional.avg_pool2d(s1, 2), e)
                h = self.mid(nn.functional.avg_pool2d(s2, 2), e)
                h = self.u2(torch.cat([nn.functional.interpolate(h, scale_factor=2), s2], 1), e)
                h = self.u1(torch.cat([nn.functional.interpolate(h, scale_factor=2), s1], 1), e)
                return self.out(nn.functional.silu(self.out_n(h)))

        return UNet()

    def fit(self, X):
        import torch

        torch.manual_seed(self.seed)
        self.model_ = model = self._module()
        betas = np.linspace(1e-4, 0.02, N_STEPS)
        self.abar_ = torch.tensor(np.cumprod(1 - betas), dtype=torch.float32)
        x0 = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32).reshape(-1, 1, 8, 8))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.train()
        for _ in range(self.epochs):
            order = torch.randperm(len(x0))
            for start in range(0, len(x0), self.batch_size):
                batch = x0[order[start:start + self.batch_size]]
                t = torch.randint(0, N_STEPS, (len(batch),))
                eps = torch.randn_like(batch)
                a = self.abar_[t][:, None, None, None]
                x_t = a.sqrt() * batch + (1 - a).sqrt() * eps
                optimizer.zero_grad(set_to_none=True)
                loss = 0.5 * ((model(x_t, t.float()) - eps) ** 2).sum(dim=(1, 2, 3)).mean()
                loss.backward()
                optimizer.step()
        return self

    def sample(self, n, steps=SAMPLING_STEPS):
        import torch

        self.model_.eval()
        schedule = sorted(set(np.linspace(0, N_STEPS - 1, steps).round().astype(int)),
                          reverse=True)
        with torch.no_grad():
            x = torch.randn(n, 1, 8, 8)
            for k, t in enumerate(schedule):
                a = self.abar_[t]
                eps = self.model_(x, torch.full((n,), float(t)))
                x0 = ((x - (1 - a).sqrt() * eps) / a.sqrt()).clamp(-1, 1)
                eps = (x - a.sqrt() * x0) / (1 - a).sqrt()
                a_prev = self.abar_[schedule[k + 1]] if k + 1 < len(schedule) else 1.0
                x = a_prev ** 0.5 * x0 + (1 - a_prev) ** 0.5 * eps
        return x.numpy()


def compare_ddpm(epochs=2, repeats=3):
    torch = torch_on_every_core("DDPM")
    if isinstance(torch, str):
        return torch
    threads = torch.get_num_threads()
    from sklearn.datasets import load_digits

    from skneuro import DDPM

    X = load_digits().data
    scaled = X / 8.0 - 1.0  # [-1, 1], as DDPM scales inside

    def ours(e):
        return DDPM(input_shape=(1, 8, 8), n_steps=N_STEPS, max_iter=e, n_iter_no_change=e + 1,
                    sampling_steps=SAMPLING_STEPS, random_state=0)

    fitted = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: fixed epochs on purpose
        ours(1).fit(X[:256]).sample(4, random_state=0)  # compilation
        TorchDDPM(1).fit(scaled[:256]).sample(4)
        fit_times = alternate({
            "skneuro": lambda: fitted.__setitem__("skneuro", ours(epochs).fit(X)),
            "PyTorch": lambda: fitted.__setitem__("PyTorch", TorchDDPM(epochs).fit(scaled)),
        }, repeats, pause=0.5)
    sample_times = alternate({
        "skneuro": lambda: fitted["skneuro"].sample(SAMPLES, random_state=0),
        "PyTorch": lambda: fitted["PyTorch"].sample(SAMPLES),
    }, repeats, pause=0.5)
    params = fitted["skneuro"].network_.n_parameters()
    torch_params = sum(p.numel() for p in fitted["PyTorch"].model_.parameters())
    sk, pt = fit_times["skneuro"], fit_times["PyTorch"]
    ssk, spt = sample_times["skneuro"], sample_times["PyTorch"]
    return "\n".join([
        f"DDPM U-Net ({params:,} parameters; PyTorch's {torch_params:,}), digits 1,797, T = "
        f"{N_STEPS}, Adam 1e-3, batch 64, {epochs} epochs, float32, {threads} threads each "
        f"(PyTorch {torch.__version__}); medians of {repeats} alternating runs:",
        "",
        "| measure | skneuro | PyTorch | ratio (skneuro speed-up) | target |",
        "|---|---|---|---|---|",
        f"| fit, time per epoch | {sk / epochs:.2f} s | {pt / epochs:.2f} s | {pt / sk:.2f}x | "
        ">= 1x (aim 2x) |",
        f"| sample({SAMPLES}), {SAMPLING_STEPS}-step DDIM | {ssk:.2f} s | {spt:.2f} s | "
        f"{spt / ssk:.2f}x | >= 1x |",
    ])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--readme", metavar="PATH",
                        help="write the output into this README between its markers")
    args = parser.parse_args(argv)

    from readme_sections import machine_description, update_readme

    options = (f" --epochs {args.epochs}" if args.epochs != 2 else "") + \
        (f" --repeats {args.repeats}" if args.repeats != 3 else "")
    header = f"`python asv_bench/compare_ddpm.py{options}`, {time.strftime('%Y-%m-%d')}, " \
             f"{machine_description()}:"
    body = compare_ddpm(args.epochs, args.repeats)
    print(header)
    print()
    print(body)
    if args.readme:
        update_readme(args.readme, body, header, marker="bench-ddpm")
        print(f"\nWritten into {args.readme}.")


if __name__ == "__main__":
    main()
