"""What the tests share besides fixtures: the test configuration and its
databases, form posting through the test client, the SMTP inbox, the browser
and its logins, real servers (gunicorn, nginx, PostgreSQL) for the
operations tests. The conftest files hold only fixtures and hooks."""
