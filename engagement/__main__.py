from engagement.commands.process_exit import run_then_exit


def _command() -> int:
    from engagement.stand_ins import defer_library_imports

    defer_library_imports()  # pandas, numpy and pyarrow imported by the first use, if any (see stand_ins)
    from engagement.cli import main  # imported after the exit handler is registered (see process_exit)

    return main(one_command_process=True)  # this process ends after the command


run_then_exit(_command)
