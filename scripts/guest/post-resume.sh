#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The post-resume hook of the test images (lazyresume capture --hook): runs
# in each client after a resume, once its own identity is in place.  Each
# client applies its own settings: the file clients/<MAC> of the image on
# the server, if there is one, is run as a shell script.  A request that
# gets no answer at all (busybox tftp gives up after about 13 s) is asked
# again, three times at most; "file not found" is an answer.

mac=$(echo "$LAZYRESUME_MAC" | tr -d :)
file="$LAZYRESUME_IMAGE/clients/$mac"
for attempt in 1 2 3; do
	if tftp -g -r "$file" -l /tmp/client-settings "$LAZYRESUME_SERVER" \
		"$LAZYRESUME_PORT" 2>/tmp/client-settings.err; then
		echo "post-resume: applying $file"
		sh /tmp/client-settings
		exit
	fi
	grep -q timeout /tmp/client-settings.err || break
	echo "post-resume: no answer for $file (attempt $attempt)"
	# What the network looked like, for whoever reads the log.
	{
		ip addr show dev eth0
		ip neigh
		grep '^Udp:' /proc/net/snmp
		cat /sys/class/net/eth0/queues/tx-0/tx_timeout
		grep -i virtio /proc/interrupts
	} 2>&1 | sed 's/^/post-resume:   /'
done
echo "post-resume: no $file, nothing to apply ($(cat /tmp/client-settings.err))"
