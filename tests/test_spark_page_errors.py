"""On Spark, an engine error inside a page (memory, a lost executor) is shown as a message with its first line,
not as a Java traceback; the app's own errors are not hidden by it. No Spark session needed: the errors are
pyspark's exception classes raised by a stand-in page."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _script(error: str) -> None:
    from engagement import ui

    class Page:
        def run(self):
            if error == "spark":
                from pyspark.errors import PySparkRuntimeError

                raise PySparkRuntimeError(errorClass="UNSUPPORTED_OPERATION",
                                          messageParameters={"operation": "**broadcast** [x](http://y)"})
            raise ValueError("the app's own bug")

    ui.run_page(Page())


def test_a_spark_error_in_a_page_is_a_message_with_its_first_line_as_text():
    at = AppTest.from_function(_script, args=("spark",), default_timeout=60).run()
    assert not at.exception
    message = at.error[0].value
    assert message.startswith("Spark could not compute this page (PySparkRuntimeError)")
    assert "broadcast" in message and "**broadcast**" not in message  # shown as text, not markdown
    assert "ENGAGEMENT_SPARK_DRIVER_MEMORY" in at.caption[0].value


def test_the_apps_own_errors_still_surface():
    at = AppTest.from_function(_script, args=("other",), default_timeout=60).run()
    assert at.exception and "the app's own bug" in at.exception[0].value
