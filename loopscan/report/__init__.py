"""What loopscan prints: tables of what was read and, later, of what it means."""
