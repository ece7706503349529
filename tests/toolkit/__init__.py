"""The toolkit's tests (plainsql), mirroring src/plainsql/."""
