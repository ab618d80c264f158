#!/bin/sh
# The front page (busybox httpd runs /cgi-bin/index.cgi for / when there is no index.html): the row the
# db service keeps in its volume, fetched over the compose network by the service's name.
row=$(nc db 5432 </dev/null 2>/dev/null)
printf 'Content-Type: text/html\r\n\r\n'
printf '<h1>ordinary app</h1>\n<p>db row: %s</p>\n' "${row:-unavailable}"
