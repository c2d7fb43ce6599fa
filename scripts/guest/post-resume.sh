#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The post-resume hook of the test images (lazyresume capture --hook): runs
# in each client after a resume, once its own identity is in place.  Each
# client applies its own settings: the file clients/<MAC> of the image on
# the server, if there is one, is run as a shell script.  A request that
# gets no answer at all (busybox tftp gives up after about 13 s) is asked
# again, three times at most, of the server and then of each of its
# mirrors (LAZYRESUME_MIRRORS, ADDRESS:PORT comma-separated); "file not
# found" is an answer.

mac=$(echo "$LAZYRESUME_MAC" | tr -d :)
file="$LAZYRESUME_IMAGE/clients/$mac"
servers="$LAZYRESUME_SERVER:$LAZYRESUME_PORT $(echo "${LAZYRESUME_MIRRORS:-}" | tr , ' ')"
for server in $servers; do
	for attempt in 1 2 3; do
		if tftp -g -r "$file" -l /tmp/client-settings "${server%:*}" "${server##*:}" \
			2>/tmp/client-settings.err; then
			echo "post-resume: applying $file"
			sh /tmp/client-settings
			exit
		fi
		grep -q timeout /tmp/client-settings.err || break 2
		echo "post-resume: no answer for $file from $server (attempt $attempt)"
		# What the network looked like, for whoever reads the log.
		{
			ip addr show dev eth0
			ip neigh
			grep '^Udp:' /proc/net/snmp
			cat /sys/class/net/eth0/queues/tx-0/tx_timeout
			grep -i virtio /proc/interrupts
		} 2>&1 | sed 's/^/post-resume:   /'
		# A server that did not answer once is left for its mirror.
		[ "$server" = "${servers%% *}" ] && [ -n "${LAZYRESUME_MIRRORS:-}" ] && break
	done
done
echo "post-resume: no $file, nothing to apply ($(cat /tmp/client-settings.err))"
