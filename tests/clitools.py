"Helpers the command-line tests share."
from srgan_course import cli


def run(capsys, *argv):
    "Run `srgan-course argv` in-process; (exit code, stdout, stderr)."
    try: code = cli.main([str(a) for a in argv])
    except SystemExit as e: code = e.code
    out, err = capsys.readouterr()
    return code, out, err
