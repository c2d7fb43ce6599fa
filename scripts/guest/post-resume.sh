#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The post-resume hook of the test images (lazyresume capture --hook): runs
# in each client after a resume, once its own identity is in place.  Each
# client applies its own settings: the file clients/<MAC> of the image on
# the server, if there is one, is run as a shell script.

mac=$(echo "$LAZYRESUME_MAC" | tr -d :)
file="$LAZYRESUME_IMAGE/clients/$mac"
if tftp -g -r "$file" -l /tmp/client-settings "$LAZYRESUME_SERVER" "$LAZYRESUME_PORT" \
	2>/dev/null; then
	echo "post-resume: applying $file"
	sh /tmp/client-settings
else
	echo "post-resume: no $file, nothing to apply"
fi
