"""Milestones with target dates, not deadlines: plans, confidence, revisits and calibration."""
