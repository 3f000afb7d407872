#!/usr/bin/env bash
# Prints the java executable of the newest installed JDK >= 23, looking in INVCONV_JAVA_HOME,
# JAVA_HOME, /usr/lib/jvm, /opt/java, SDKMAN and PATH. With none, explains what is needed on
# stderr and exits 1. Used by the ./invconv launcher and, as an early explanation, by the Maven
# build (whose toolchains plugin then makes the actual choice).
set -u
required=23

java_major() { "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p'; }

candidates=()
[ -n "${INVCONV_JAVA_HOME:-}" ] && candidates+=("$INVCONV_JAVA_HOME/bin/java")
[ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME/bin/java")
for home in /usr/lib/jvm/* /opt/java/* "${HOME:-/root}"/.sdkman/candidates/java/*; do
  [ -x "$home/bin/java" ] && candidates+=("$home/bin/java")
done
command -v java >/dev/null 2>&1 && candidates+=("$(command -v java)")

best="" best_major=0
for candidate in "${candidates[@]}"; do
  [ -x "$candidate" ] || continue
  major=$(java_major "$candidate")
  if [ -n "$major" ] && [ "$major" -ge "$required" ] && [ "$major" -gt "$best_major" ]; then
    best=$candidate best_major=$major
  fi
done

if [ -z "$best" ]; then
  cat >&2 <<MSG
invconv needs a JDK $required or newer (the FFM API and its jextract bindings) to compile, test
and run; Maven itself may run on an older one. None was found in INVCONV_JAVA_HOME, JAVA_HOME,
/usr/lib/jvm, /opt/java, ~/.sdkman or PATH. Install one (e.g. Temurin 25), or declare it in
~/.m2/toolchains.xml.
MSG
  exit 1
fi
echo "$best"
