"""Tests of reference_apps.services, one module each."""
