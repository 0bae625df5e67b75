"""Login floods against production password hashing (`python -m bench.login_flood`): a
colleague's correct login on a quiet server, during one client's wrong-password flood on
the admin's email, and during a flood from many addresses (issue 11 finding 2)."""
