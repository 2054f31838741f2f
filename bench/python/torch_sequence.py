"""PyTorch reference of smapfill's sequence model (src/models/nets.ts SequenceNet, sequence-regressor.ts).

Trains the same network on the same standardised inputs with the same protocol as smapfill's
train-net.ts and the shared reference's train_regressor: target standardised with the training
mean and population sd, MSE, Adam(1e-3), batches of 512 from a seeded shuffle each epoch (a last
batch of fewer than 2 rows skipped), the validation RMSE in original units after every epoch,
the learning rate halved after 5 epochs without improvement, stop after 12, the best weights
restored. Denormals are flushed (torch.set_flush_denormal), as the nn-engine benchmark's peers.

The network: nn.LSTM(channels, hidden, batch_first=True) over the window (channel 0 of a day is 1
where the day lies in the cube; the days before, at the start of the window, are left out by
packing each row's real steps), its last state beside the row's tabular inputs into
head = Linear(hidden + tabular, 128), ReLU, Linear(128, 64), ReLU, Linear(64, 1).

usage: torch_sequence.py DIR SEEDS OUT.json
DIR holds train_Z.npy, train_y.npy, validation_Z.npy, validation_y.npy, test_Z.npy, test_y.npy
(float32; Z [n, steps * channels + tabular]) and meta.json {steps, channels, hidden, max_epochs,
batch, lr_patience, stop_patience, threads}.
"""
import copy
import json
import math
import sys
import time

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

torch.set_flush_denormal(True)


class SequenceNet(nn.Module):
    def __init__(self, steps, channels, tabular, hidden):
        super().__init__()
        self.steps, self.channels = steps, channels
        self.lstm = nn.LSTM(channels, hidden, batch_first=True)
        self.head = nn.Sequential(nn.Linear(hidden + tabular, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 1))

    def forward(self, x):
        b = x.shape[0]
        width = self.steps * self.channels
        seq = x[:, :width].reshape(b, self.steps, self.channels)
        present = seq[:, :, 0] > 0.5
        lengths = present.sum(1)
        # The real steps are the last `length` of the window: move them to the front and pack.
        first = self.steps - lengths
        index = (torch.arange(self.steps).unsqueeze(0) + first.unsqueeze(1)).clamp(max=self.steps - 1)
        aligned = torch.gather(seq, 1, index.unsqueeze(2).expand(-1, -1, self.channels))
        packed = pack_padded_sequence(aligned, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(packed)
        return self.head(torch.cat([h[-1], x[:, width:]], 1)).squeeze(1)


def predict_std(model, Z, batch=4096):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, Z.shape[0], batch):
            out.append(model(torch.from_numpy(Z[i:i + batch])).numpy())
    return np.concatenate(out)


def train(meta, Ztr, ytr, Zva, yva, seed):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    y_mean = float(np.mean(ytr, dtype=np.float64))
    y_sd = float(np.std(ytr, dtype=np.float64)) or 1.0
    target = torch.from_numpy(((ytr - y_mean) / y_sd).astype(np.float32))
    Xtr = torch.from_numpy(Ztr)
    steps, channels = meta["steps"], meta["channels"]
    model = SequenceNet(steps, channels, Ztr.shape[1] - steps * channels, meta["hidden"])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()
    n, batch = Ztr.shape[0], meta["batch"]
    best, best_state, best_epoch, bad, plateau = math.inf, None, 0, 0, 0
    history = []
    for epoch in range(1, meta["max_epochs"] + 1):
        t0 = time.perf_counter()
        model.train()
        perm = torch.from_numpy(rng.permutation(n))
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            if idx.numel() < 2:
                continue
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xtr[idx]), target[idx])
            loss.backward()
            opt.step()
        pred = predict_std(model, Zva) * y_sd + y_mean
        val = float(np.sqrt(np.mean((pred.astype(np.float64) - yva) ** 2)))
        history.append({"epoch": epoch, "val_rmse": val, "seconds": time.perf_counter() - t0})
        if val < best:
            best, best_epoch, best_state = val, epoch, copy.deepcopy(model.state_dict())
            bad = plateau = 0
        else:
            bad += 1
            plateau += 1
            if plateau >= meta["lr_patience"]:
                for g in opt.param_groups:
                    g["lr"] *= 0.5
                plateau = 0
        if bad >= meta["stop_patience"]:
            break
    model.load_state_dict(best_state)
    return model, y_mean, y_sd, {"epochs_run": len(history), "best_epoch": best_epoch, "best_val_rmse": best, "history": history}


def main():
    folder, seeds, out = sys.argv[1], [int(s) for s in sys.argv[2].split(",")], sys.argv[3]
    meta = json.load(open(f"{folder}/meta.json"))
    torch.set_num_threads(meta.get("threads", 1))
    load = lambda name: np.load(f"{folder}/{name}.npy")
    Ztr, ytr, Zva, yva, Zte, yte = (load(k) for k in ["train_Z", "train_y", "validation_Z", "validation_y", "test_Z", "test_y"])
    runs = []
    for seed in seeds:
        t0 = time.perf_counter()
        model, y_mean, y_sd, info = train(meta, Ztr, ytr, Zva, yva.astype(np.float64), seed)
        seconds = time.perf_counter() - t0
        pred = predict_std(model, Zte) * y_sd + y_mean
        rmse = float(np.sqrt(np.mean((pred.astype(np.float64) - yte) ** 2)))
        runs.append({"seed": seed, "test_rmse": rmse, "train_s": seconds, **{k: v for k, v in info.items() if k != "history"}})
        print(f"seed {seed}: test RMSE {rmse:.5f}, {info['epochs_run']} epochs (best {info['best_epoch']}), {seconds:.0f} s", file=sys.stderr)
    json.dump({"torch": torch.__version__, "runs": runs}, open(out, "w"), indent=1)


if __name__ == "__main__":
    main()
