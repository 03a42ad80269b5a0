"""Agreement statistics over plain data: no project imports, tested against published values."""
