import { createSocket } from 'node:dgram';

// One canary datagram from 127.0.0.1 to 127.0.0.1:port, from a port the kernel picks: the
// source port tells this canary's line from an older one's. Resolves to that source port.
export function sendCanary(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', (error) => {
      socket.close();
      reject(error);
    });
    socket.bind(0, '127.0.0.1', () => {
      const sport = socket.address().port;
      socket.send('knocktail canary\n', port, '127.0.0.1', (error) => {
        socket.close();
        if (error) reject(error);
        else resolve(sport);
      });
    });
  });
}
