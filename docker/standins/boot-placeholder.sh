#!/bin/sh
# Placeholder of Beam's SDK container boot program (see beam.Containerfile): test images only.
echo "stand-in image: /opt/apache/beam/boot is Beam's Go boot program in the real apache/beam_python SDK image" >&2
exit 64
