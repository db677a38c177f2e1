"""A small real conv net whose answer is known, for checking where coarse-to-fine inference crops and pastes.

It is not a stand-in for the V-Net's quality: it labels as dural sac (class 1) every pixel whose 3x3 mean is above
0.5, nothing as disc (class 2), so on an image of zeros with bright squares its whole-slice answer is the squares.
"""
from __future__ import annotations

import torch


class BrightSquareNet(torch.nn.Module):
    """3x3 mean (zero padded) -> logits: background 0, class 1 ``20 * (mean - 0.5)``, class 2 -5 (never).
    ``dropout`` (for Monte Carlo dropout scoring) drops the smoothed map; ``shapes`` records every input's shape."""

    def __init__(self, dropout: float = 0.0):
        super().__init__()
        self.smooth = torch.nn.Conv2d(1, 1, 3, padding=1, bias=False)
        self.head = torch.nn.Conv2d(1, 3, 1)
        self.drop = torch.nn.Dropout2d(dropout)
        with torch.no_grad():
            self.smooth.weight.fill_(1.0 / 9.0)
            self.head.weight.copy_(torch.tensor([0.0, 20.0, 0.0]).view(3, 1, 1, 1))
            self.head.bias.copy_(torch.tensor([0.0, -10.0, -5.0]))
        self.shapes: list[tuple[int, ...]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.shapes.append(tuple(x.shape))
        return self.head(self.drop(self.smooth(x)))


def volume(height: int = 96, width: int = 128, depth: int = 6, squares=((40, 60, 50, 70),)) -> torch.Tensor:
    """``[1, 1, H, W, S]`` zeros with value 1 in each ``(row0, row1, col0, col1)`` square on every slice."""
    x = torch.zeros((1, 1, height, width, depth))
    for r0, r1, c0, c1 in squares:
        x[:, :, r0:r1, c0:c1, :] = 1.0
    return x
