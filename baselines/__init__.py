"""Baseline superpixel methods behind one interface (see :mod:`baselines.registry`)."""
