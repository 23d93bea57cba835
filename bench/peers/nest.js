// Child process: the NestJS peer on its Express platform, no logging: a controller whose route is
// guarded by an auth guard, the usual Nest shape. Plain JavaScript (no build step): the decorators
// are applied by calling them, which is what TypeScript's compiled output does.
import 'reflect-metadata'
import { Controller, Get, Module, NotFoundException, Req, UnauthorizedException, UseGuards } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { failed, listening, readUser, ROUTE, subjectOf } from './row-read.js'

/** AuthGuard verifies the bearer token on every request and hands the user id to the route. */
class AuthGuard {
  async canActivate (context) {
    const request = context.switchToHttp().getRequest()
    request.userId = await subjectOf(request.headers.authorization)
    if (request.userId === undefined) throw new UnauthorizedException()
    return true
  }
}

/** UsersController serves the user's own row. */
class UsersController {
  async me (request) {
    const user = await readUser(request.userId)
    if (!user) throw new NotFoundException()
    return user
  }
}

const [prefix, path] = [ROUTE.slice(1, ROUTE.lastIndexOf('/')), ROUTE.slice(ROUTE.lastIndexOf('/') + 1)]
const me = Object.getOwnPropertyDescriptor(UsersController.prototype, 'me')
Controller(prefix)(UsersController)
Get(path)(UsersController.prototype, 'me', me)
UseGuards(AuthGuard)(UsersController.prototype, 'me', me)
Req()(UsersController.prototype, 'me', 0)

class AppModule {}
Module({ controllers: [UsersController] })(AppModule)

try {
  const app = await NestFactory.create(AppModule, { logger: false })
  await app.listen(0, '127.0.0.1')
  await listening(app.getHttpServer().address().port, () => app.close())
} catch (err) {
  await failed(err)
}
