from engagement.commands.process_exit import run_then_exit


def _command() -> int:
    from engagement.cli import main  # imported after the exit handler is registered (see process_exit)

    return main(one_command_process=True)  # this process ends after the command


run_then_exit(_command)
