"""hashbench: measure perceptual-hash matchers on benign images."""

__version__ = "0.1.0"
