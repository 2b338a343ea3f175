"""One module per filesystem; each implements vfs.Filesystem."""
