# Run by capture.sh inside the namespace: connect() to an open (8080) and a closed (8081) port on
# 127.0.0.1 and ::1, so the capture holds the kernel's own SYN, SYN-ACK and RST-ACK.
import socket, time
# listeners: open port 8080 on both families; 8081 stays closed
l4 = socket.socket(socket.AF_INET); l4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l4.bind(("127.0.0.1", 8080)); l4.listen()
l6 = socket.socket(socket.AF_INET6); l6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l6.bind(("::1", 8080)); l6.listen()
for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    for port in (8080, 8081):
        s = socket.socket(fam)
        try:
            s.connect((host, port))
        except ConnectionRefusedError:
            pass
        s.close()
        time.sleep(0.2)
