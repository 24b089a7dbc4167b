"""Environment for the PySpark tests, so ``python -m pytest test_spark.py`` works from a fresh
shell: Java, the Python the workers run, a loopback address, quiet logging, a small local session.

Requirements: ``pip install pyspark==4.3.0 pyarrow "pandas<3"`` and a Java 17 or 21 runtime
(``apt-get install openjdk-17-jre-headless``). ``SEGCORE_REQUIRE_SPARK=1`` (set it in CI) turns a
missing PySpark or Java into a test failure instead of a skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

DEFAULT_JAVA_HOMES = ("/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/java-17-openjdk-arm64",
                      "/usr/lib/jvm/java-21-openjdk-amd64", "/usr/lib/jvm/java-21-openjdk-arm64")
PIP = 'pip install pyspark==4.3.0 pyarrow "pandas<3"'

_LOG4J2 = """\
status = error
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
# The loggers Spark takes the shell's level from, at the root's level: Spark then does not
# announce "Setting default log level".
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = error
logger.submit.name = org.apache.spark.deploy.SparkSubmit
logger.submit.level = error
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = error
"""


def required() -> bool:
    """Whether a missing PySpark/Java must fail the tests (CI) rather than skip them."""
    return os.environ.get("SEGCORE_REQUIRE_SPARK", "") not in ("", "0", "false", "no")


def java_home() -> Optional[str]:
    """JAVA_HOME if it holds a java, else a Java 17/21 under /usr/lib/jvm, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and os.access(os.path.join(home, "bin", "java"), os.X_OK):
        return home
    candidates = list(DEFAULT_JAVA_HOMES) + sorted(glob.glob("/usr/lib/jvm/java-17-*")) + sorted(
        glob.glob("/usr/lib/jvm/java-21-*"))
    for home in candidates:
        if os.access(os.path.join(home, "bin", "java"), os.X_OK):
            return home
    java = shutil.which("java")
    if java:
        return str(Path(os.path.realpath(java)).parent.parent)
    return None


def configure() -> Optional[str]:
    """Sets the environment variables PySpark reads (only those not set already, except the
    workers' Python, which must be this interpreter). Returns why Spark cannot run, or None."""
    try:
        import pyspark  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError as e:
        return "PySpark/pyarrow not installed (%s): %s" % (PIP, e)
    home = java_home()
    if home is None:
        return "no Java runtime: install openjdk-17-jre-headless or set JAVA_HOME"
    os.environ["JAVA_HOME"] = home
    # Workers must run this interpreter (the one where segcore is installed).
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # The workers import segcore and the test helpers from here.
    here = str(Path(__file__).resolve().parent)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if here not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([here] + paths)
    return None


def session(app: str = "segcore-tests") -> Any:
    """A local[2] SparkSession with UTC session time, ANSI mode and quiet logging."""
    from pyspark.sql import SparkSession

    log_dir = tempfile.mkdtemp(prefix="segcore-spark.")
    log4j = Path(log_dir) / "log4j2.properties"
    log4j.write_text(_LOG4J2)
    java_opts = "-Dlog4j2.configurationFile=file:%s -Dlog4j.configurationFile=file:%s" % (log4j, log4j)
    spark = (
        SparkSession.builder.master("local[2]")
        .appName(app)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "2g")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.extraJavaOptions", java_opts)
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.ansi.enabled", "true")
        # Generated Spark SQL needs exact DECIMAL(38,18) arithmetic (SPEC §21).
        .config("spark.sql.decimalOperations.allowPrecisionLoss", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "10000")
        .config("spark.local.dir", log_dir)
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark._segcore_tmp = log_dir  # type: ignore[attr-defined]
    return spark


def stop(spark: Any) -> None:
    tmp = getattr(spark, "_segcore_tmp", None)
    spark.stop()
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)
